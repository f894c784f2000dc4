const { request } = require('../../utils/request')
const session = require('../../utils/session')
const { subscribeCaseNotices } = require('../../utils/subscribe')
const {
  DEFAULT_MAX_CHARS,
  ELEMENT_CODES,
  ELEMENT_LABELS,
  KIND_LABELS,
  validateContent,
  loadOptions,
  submitDraft,
  draftHandlers,
} = require('../../utils/consult')

const KIND_CODES = ['suggestion', 'complaint']
const NOUNS = { suggestion: '您的建议', complaint: '投诉的内容' }

function kindChoices(labels) {
  return KIND_CODES.map((value) => ({ value, label: labels[value] || KIND_LABELS[value] }))
}

function elementChoices(labels) {
  return ELEMENT_CODES.map((value) => ({ value, label: labels[value] || ELEMENT_LABELS[value] }))
}

// 意见建议: a suggestion or complaint, ideally about one element of one 事项
// (which material, the steps, the time limit, fees, online availability).
Page(Object.assign({}, draftHandlers, {
  data: {
    kind: 'suggestion',
    kinds: kindChoices(KIND_LABELS),
    elements: elementChoices(ELEMENT_LABELS),
    element: '',
    // Which material, when the element is 申请材料: names from the item's guide.
    materials: [],
    materialIndex: -1,
    materialsLoading: false,
    content: '',
    count: 0,
    maxChars: DEFAULT_MAX_CHARS,
    days: 13,
    contentError: '',
    materialError: '',
    formError: '',
    submitting: false,
    needEnterprise: false,
    item: null,
    itemQuery: '',
    itemResults: [],
    searching: false,
    searched: false,
    searchError: '',
  },

  onLoad(query) {
    const user = session.getUser()
    this.setData({ needEnterprise: !!(user && !user.enterprise_id) })
    const itemId = /^\d+$/.test(String((query && query.service_item_id) || '')) ? Number(query.service_item_id) : null
    return Promise.all([
      loadOptions().then((o) => this.setData({
        maxChars: o.max_chars,
        days: (o.default_days || {}).suggestion || 13,
        kinds: kindChoices(o.kinds || {}),
        elements: elementChoices(o.elements || {}),
      })),
      itemId && this.loadItem(itemId).then((i) => this.setData({ item: { id: i.id, name: i.name } }), () => {}),
    ])
  },

  /** The item's guide, asked once per item: its materials list names what can be picked. */
  loadItem(id) {
    if (!this.itemCache) this.itemCache = {}
    if (!this.itemCache[id]) {
      this.itemCache[id] = request({ api: 'serviceItemDetail', params: { id } }).catch((err) => {
        delete this.itemCache[id]
        throw err
      })
    }
    return this.itemCache[id]
  },

  onKindTap(e) {
    const { value } = e.currentTarget.dataset
    if (KIND_CODES.indexOf(value) >= 0) this.setData({ kind: value, formError: '' })
  },

  onPickItem(e) {
    const { id } = e.currentTarget.dataset
    const picked = this.data.itemResults.find((i) => String(i.id) === String(id))
    if (!picked) return
    // A new item invalidates the element's details (its materials are different).
    this.setData({
      item: { id: picked.id, name: picked.name },
      itemResults: [],
      searched: false,
      itemQuery: '',
      element: '',
      materials: [],
      materialIndex: -1,
      materialError: '',
    })
  },

  onClearItem() {
    this.setData({ item: null, element: '', materials: [], materialIndex: -1, materialError: '' })
  },

  onElementTap(e) {
    const { value } = e.currentTarget.dataset
    if (!this.data.item || ELEMENT_CODES.indexOf(value) < 0) return Promise.resolve()
    this.setData({ element: value, materialIndex: -1, materialError: '', formError: '' })
    if (value !== 'materials') return Promise.resolve()
    const itemId = this.data.item.id
    this.setData({ materialsLoading: true })
    return this.loadItem(itemId).then(
      (detail) => {
        if (!this.data.item || this.data.item.id !== itemId) return
        this.setData({ materialsLoading: false, materials: (detail.materials || []).map((m) => m.name).filter(Boolean) })
      },
      (err) => this.setData({ materialsLoading: false, materials: [], materialError: err.message })
    )
  },

  onMaterialChange(e) {
    this.setData({ materialIndex: Number(e.detail.value), materialError: '' })
  },

  onCertify() {
    wx.navigateTo({ url: '/pages/enterprise/enterprise' })
  },

  validate() {
    const { kind, content, maxChars, element, materials, materialIndex } = this.data
    const errors = { contentError: validateContent(content, maxChars, NOUNS[kind]) || '', materialError: '' }
    if (element === 'materials' && materials.length && !(materialIndex >= 0)) {
      errors.materialError = '请选择是哪一项申请材料'
    }
    return errors
  },

  // Not async: the subscribe popup must be asked for inside the tap.
  onSubmit() {
    if (this.data.submitting) return Promise.resolve()
    const errors = this.validate()
    if (errors.contentError || errors.materialError) {
      this.setData(errors)
      return Promise.resolve()
    }
    if (!this.subscribeAsked) {
      this.subscribeAsked = true
      subscribeCaseNotices()
    }
    const { kind, content, item, element, materials, materialIndex } = this.data
    const body = { content: content.trim(), kind }
    if (item) {
      body.service_item_id = item.id
      if (element) body.element = element
      if (element === 'materials' && materialIndex >= 0) body.element_detail = materials[materialIndex]
    }
    return submitDraft(this, body)
  },
}))
