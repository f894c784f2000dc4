// Runs a real page (its .js and .wxml, unchanged) inside miniprogram-simulate.
//
// miniprogram-simulate renders custom components, not pages, so Page(options)
// is captured and registered as a component whose methods are the page's
// functions. Lifecycles are then called in the order WeChat calls them
// (onLoad(query) → onShow → onReady) and the test reads the rendered DOM.

const fs = require('fs')
const path = require('path')
const simulate = require('miniprogram-simulate')
const jComponent = require('j-component')
const { flush } = require('./wx-mock')

const ROOT = path.resolve(__dirname, '..', '..')

// The simulated built-ins drop every attribute. Declaring the ones people see
// (an input's value, a picker's value) lets tests read them back.
const ANY = { type: null, value: null }
jComponent.register({
  id: 'input',
  tagName: 'wx-input',
  template: '<slot/>',
  properties: { value: ANY, placeholder: ANY, type: ANY, maxlength: ANY, disabled: ANY },
})
jComponent.register({
  id: 'textarea',
  tagName: 'wx-textarea',
  template: '<slot/>',
  properties: { value: ANY, placeholder: ANY, maxlength: ANY, disabled: ANY },
})
jComponent.register({
  id: 'picker',
  tagName: 'wx-picker',
  template: '<slot/>',
  properties: { mode: ANY, range: ANY, 'range-key': ANY, rangeKey: ANY, value: ANY, start: ANY, end: ANY, disabled: ANY },
})

function normalise(text) {
  return text.replace(/\s+/g, ' ').trim()
}

// Separate elements are read as separate words ("收费标准 不收费"), the way
// they appear on screen, instead of running together as textContent does.
function visibleText(dom) {
  const parts = []
  const walk = (node) => {
    if (node.nodeType === 3) {
      const t = normalise(node.textContent)
      if (t) parts.push(t)
      return
    }
    node.childNodes.forEach(walk)
  }
  walk(dom)
  return parts.join(' ')
}

class PageHarness {
  constructor(comp) {
    this.comp = comp
  }

  get data() {
    return this.comp.data
  }

  get instance() {
    return this.comp.instance
  }

  /** All text a person would read on the page, whitespace collapsed. */
  text(selector) {
    if (!selector) return visibleText(this.comp.dom)
    const node = this.$(selector)
    return node ? visibleText(node.dom) : ''
  }

  /** Text of every match, e.g. every row of a result list. */
  texts(selector) {
    return this.comp.querySelectorAll(selector).map((node) => visibleText(node.dom))
  }

  $(selector) {
    return this.comp.querySelector(selector) || null
  }

  exists(selector) {
    return !!this.$(selector)
  }

  /** The value shown in an <input>/<picker> (its bound `value` attribute). */
  valueOf(selector) {
    const node = this.$(selector)
    if (!node) throw new Error(`no element matches ${selector}`)
    return node.data.value
  }

  async tap(selector) {
    const node = this.$(selector)
    if (!node) throw new Error(`no element matches ${selector}; page text: ${this.text()}`)
    node.dispatchEvent('tap')
    await flush()
  }

  async input(selector, value) {
    const node = this.$(selector)
    if (!node) throw new Error(`no element matches ${selector}`)
    node.dispatchEvent('input', { detail: { value } })
    await flush()
  }

  async blur(selector, value) {
    const node = this.$(selector)
    if (!node) throw new Error(`no element matches ${selector}`)
    node.dispatchEvent('blur', { detail: { value } })
    await flush()
  }

  async confirm(selector, value) {
    const node = this.$(selector)
    node.dispatchEvent('confirm', { detail: { value } })
    await flush()
  }

  /** A picker's change event: detail.value is an index (selector) or a date string. */
  async pick(selector, value) {
    const node = this.$(selector)
    if (!node) throw new Error(`no element matches ${selector}`)
    node.dispatchEvent('change', { detail: { value } })
    await flush()
  }

  /** Call a page lifecycle (onShow, onReachBottom, …) as WeChat would. */
  async lifecycle(name, arg) {
    if (typeof this.instance[name] === 'function') await this.instance[name](arg)
    await flush()
  }
}

function loadPageDefinition(route) {
  const base = path.join(ROOT, route)
  let options = null
  const previous = global.Page
  global.Page = (opts) => {
    options = opts
  }
  try {
    // A fresh module registry per page: page modules keep per-page state.
    jest.isolateModules(() => {
      require(`${base}.js`)
    })
  } finally {
    global.Page = previous
  }
  if (!options) throw new Error(`${route}.js did not call Page()`)
  return { options, template: fs.readFileSync(`${base}.wxml`, 'utf8') }
}

/**
 * openPage('pages/index/index', {id: '3'}) → PageHarness after onLoad, onShow,
 * onReady and every request they started have finished.
 */
async function openPage(route, query = {}) {
  const { options, template } = loadPageDefinition(route)
  const methods = {}
  Object.keys(options).forEach((key) => {
    if (typeof options[key] === 'function') methods[key] = options[key]
  })
  const id = simulate.load({
    template,
    data: JSON.parse(JSON.stringify(options.data || {})),
    methods,
  })
  const comp = simulate.render(id)
  comp.attach(document.createElement('parent-wrapper'))
  const page = new PageHarness(comp)
  await page.lifecycle('onLoad', query)
  await page.lifecycle('onShow')
  await page.lifecycle('onReady')
  return page
}

module.exports = { openPage, PageHarness }
