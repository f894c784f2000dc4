// No login at launch: the catalogue is public, and wx.login + our token
// exchange happen lazily in utils/request.js the first time a page needs them.
App({
  globalData: {},
})
