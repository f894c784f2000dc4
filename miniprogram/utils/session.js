// Storage keys live here so nothing else spells them out; a typo in a key
// would silently log the user out.
const TOKEN_KEY = 'auth_token'
const USER_KEY = 'auth_user'
const ENTERPRISE_ID_KEY = 'enterprise_id'

function read(key) {
  try {
    const value = wx.getStorageSync(key)
    return value === '' ? null : value
  } catch (err) {
    // Storage can fail on a full device; behaving as "not stored" just costs a login.
    return null
  }
}

function write(key, value) {
  try {
    if (value === null || value === undefined) wx.removeStorageSync(key)
    else wx.setStorageSync(key, value)
  } catch (err) {
    // Same reasoning as read(): the in-memory flow still works this session.
  }
}

module.exports = {
  TOKEN_KEY,
  USER_KEY,
  ENTERPRISE_ID_KEY,
  getToken: () => read(TOKEN_KEY),
  setToken: (token) => write(TOKEN_KEY, token),
  getUser: () => read(USER_KEY),
  setUser(user) {
    write(USER_KEY, user)
    // Keep the enterprise id in step with the server's view of the user, so a
    // member removed from an enterprise does not keep seeing its data.
    if (user) write(ENTERPRISE_ID_KEY, user.enterprise_id === undefined ? null : user.enterprise_id)
  },
  getEnterpriseId: () => read(ENTERPRISE_ID_KEY),
  setEnterpriseId: (id) => write(ENTERPRISE_ID_KEY, id),
  clear() {
    write(TOKEN_KEY, null)
    write(USER_KEY, null)
    write(ENTERPRISE_ID_KEY, null)
  },
}
