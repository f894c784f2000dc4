// A fresh fake WeChat runtime for every test, so storage (tokens) and
// recorded calls never leak from one test into the next.
const { createWxMock } = require('./helpers/wx-mock')

beforeEach(() => {
  global.wx = createWxMock()
})
