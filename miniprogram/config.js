// The one place that knows where the backend lives, so switching between the
// local sandbox, staging and production touches a single line.
module.exports = {
  apiBaseUrl: 'http://127.0.0.1:8080',
  // WeChat's default is 60 s; a person waiting on a form gives up long before that.
  requestTimeoutMs: 15000,
}
