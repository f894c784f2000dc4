// The one place that knows where the backend lives, so switching between the
// local sandbox, staging and production touches a single line.
module.exports = {
  apiBaseUrl: 'http://127.0.0.1:8080',
  // WeChat's default is 60 s; a person waiting on a form gives up long before that.
  requestTimeoutMs: 15000,
  // Subscribe-message template for new policies (公众平台 → 订阅消息). It must be
  // the same id as the server's WECHAT_POLICY_TEMPLATE_ID: a grant is only
  // usable for the exact template it was given for. The default matches the
  // server's sandbox default.
  policyTemplateId: 'sandbox-tpl-policy',
  // Template for case notices (咨询答复、办结): the server's WECHAT_NOTICE_TEMPLATE_ID.
  noticeTemplateId: 'sandbox-tpl-notice',
}
