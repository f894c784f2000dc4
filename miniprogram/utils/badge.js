// The unread count on the 消息 tab. Kept in one module so the tab's position
// is written once (app.json: 首页, 政策, 消息, 我的).

const { request } = require('./request')

const INBOX_TAB_INDEX = 2

/** Unread count of a GET /api/v1/inbox answer; counted from the rows if the server omits it. */
function unreadOf(body) {
  if (!body) return 0
  if (typeof body.unread === 'number') return body.unread
  if (typeof body.unread_count === 'number') return body.unread_count
  return (body.items || []).filter((m) => !(m.read_at || m.read)).length
}

function setUnreadBadge(count) {
  // The badge calls fail (not throw) off a tab page or on old clients; a
  // missing badge is not worth bothering the person with.
  const quiet = () => {}
  if (count > 0) {
    wx.setTabBarBadge({ index: INBOX_TAB_INDEX, text: count > 99 ? '99+' : String(count), fail: quiet })
  } else {
    wx.removeTabBarBadge({ index: INBOX_TAB_INDEX, fail: quiet })
  }
}

/** Fetch the unread count and show it on the 消息 tab; failures leave the badge as it is. */
async function refreshUnreadBadge() {
  try {
    const body = await request({ api: 'inbox', query: { page: 1 } })
    setUnreadBadge(unreadOf(body))
  } catch (err) {
    // Best effort: the 消息 tab shows the real count and any error itself.
  }
}

module.exports = {
  INBOX_TAB_INDEX,
  unreadOf,
  setUnreadBadge,
  refreshUnreadBadge,
}
