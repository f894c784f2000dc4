const { request, showError } = require('../../utils/request')
const { RATING_LABELS, dueText, presentCase } = require('../../utils/consult')

const STARS = [1, 2, 3, 4, 5]
const RATING_COMMENT_MAX = 500

/** wx.showModal as a promise of {confirm, content}; content is the typed reason where supported. */
function ask(options) {
  return new Promise((resolve) => {
    wx.showModal({
      ...options,
      success: (res) => resolve(res || {}),
      fail: () => resolve({ confirm: false }),
    })
  })
}

// 咨询详情: the thread, the deadline, and what the enterprise may do now — reply
// (补充/追问), confirm, reopen, withdraw and rate — exactly as the server's
// `actions` allow, so a button never offers what the server would refuse.
Page({
  data: {
    loading: true,
    error: '',
    detail: null,
    // Shown once, right after filing: the promise of an answer date, or that it is under review.
    createdNote: '',
    reply: '',
    replyError: '',
    sending: false,
    acting: false,
    stars: STARS,
    ratingLabels: RATING_LABELS,
    commentMax: RATING_COMMENT_MAX,
    ratingEditing: false,
    ratingScore: 0,
    ratingComment: '',
    ratingError: '',
    rating: false,
  },

  onLoad(query) {
    this.caseId = query && query.id
    this.justCreated = !!(query && query.created)
    return this.load()
  },

  onPullDownRefresh() {
    return this.load().then(() => wx.stopPullDownRefresh())
  },

  onRetry() {
    return this.load()
  },

  async load() {
    if (!/^\d+$/.test(String(this.caseId || ''))) {
      this.setData({ loading: false, error: '没有指定要查看的咨询' })
      return
    }
    this.setData({ loading: true, error: '' })
    try {
      const c = await request({ api: 'consultationDetail', params: { id: this.caseId } })
      this.show(c)
      if (this.justCreated) {
        this.justCreated = false
        const held = c.moderation === 'held' || c.moderation === 'pending'
        this.setData({
          createdNote: held
            ? '提交成功。您的内容正在审核，审核通过后将尽快为您办理'
            : `提交成功，${dueText(c.due_at)}`,
        })
      }
    } catch (err) {
      this.setData({ loading: false, error: err.message || '加载失败，请稍后重试' })
    }
  },

  /** Render a ConsultationRead (from GET or from any action's answer). */
  show(c) {
    const detail = presentCase(c)
    const ratingEditing = detail.canRate && !detail.rating
    this.setData({
      loading: false,
      detail,
      ratingEditing,
      ratingScore: ratingEditing ? this.data.ratingScore : 0,
      ratingError: '',
    })
    wx.setNavigationBarTitle({ title: `${detail.kindLabel}详情` })
  },

  onReplyInput(e) {
    this.setData({ reply: e.detail.value, replyError: '' })
  },

  async onSend() {
    if (this.data.sending) return
    const body = this.data.reply.trim()
    if (!body) {
      this.setData({ replyError: '请输入要发送的内容' })
      return
    }
    this.setData({ sending: true, replyError: '' })
    try {
      const c = await request({ api: 'consultationMessage', params: { id: this.data.detail.id }, data: { body } })
      this.setData({ sending: false, reply: '' })
      this.show(c)
      wx.showToast({ title: '已发送', icon: 'success' })
    } catch (err) {
      // The text stays in the box: a refused wording (content_risky) is edited, not retyped.
      this.setData({ sending: false, replyError: err.message })
      if (err.status === 409) this.load()
    }
  },

  /** resolve / reopen / withdraw: confirm, send, show the answer. */
  async act(api, modal, okText) {
    if (this.data.acting || !this.data.detail) return
    const answer = await ask(modal)
    if (!answer.confirm) return
    const reason = typeof answer.content === 'string' ? answer.content.trim() : ''
    this.setData({ acting: true })
    try {
      const c = await request({ api, params: { id: this.data.detail.id }, data: reason ? { reason } : {} })
      this.setData({ acting: false })
      this.show(c)
      wx.showToast({ title: okText, icon: 'none' })
    } catch (err) {
      this.setData({ acting: false })
      showError(err)
      // Someone else moved the case (a colleague, the consultant): show where it is now.
      if (err.status === 409) await this.load()
    }
  },

  onResolve() {
    return this.act('resolveConsultation', {
      title: '确认已解决',
      content: '确认问题已解决？确认后可以对本次服务进行评价。',
      confirmText: '已解决',
    }, '已确认解决，欢迎评价')
  },

  onReopen() {
    return this.act('reopenConsultation', {
      title: '问题没有解决',
      content: '重新打开后，工作人员将继续为您办理。',
      editable: true,
      placeholderText: '请说明还有什么问题（选填）',
      confirmText: '重新打开',
    }, '已重新打开')
  },

  onWithdraw() {
    return this.act('withdrawConsultation', {
      title: '撤回咨询',
      content: '撤回后工作人员将不再办理，确定撤回吗？',
      editable: true,
      placeholderText: '撤回原因（选填）',
      confirmText: '撤回',
      confirmColor: '#d93026',
    }, '已撤回')
  },

  onStarTap(e) {
    const score = Number(e.currentTarget.dataset.score)
    if (score >= 1 && score <= 5) this.setData({ ratingScore: score, ratingError: '' })
  },

  onRatingCommentInput(e) {
    this.setData({ ratingComment: e.detail.value, ratingError: '' })
  },

  onEditRating() {
    const { rating } = this.data.detail || {}
    if (!rating) return
    this.setData({ ratingEditing: true, ratingScore: rating.score, ratingComment: rating.comment, ratingError: '' })
  },

  onCancelRating() {
    this.setData({ ratingEditing: false, ratingError: '' })
  },

  async onSubmitRating() {
    if (this.data.rating) return
    const score = this.data.ratingScore
    if (!(score >= 1 && score <= 5)) {
      this.setData({ ratingError: '请点击星星选择满意程度' })
      return
    }
    const comment = this.data.ratingComment.trim()
    this.setData({ rating: true, ratingError: '' })
    try {
      const answer = await request({
        api: 'rateConsultation',
        params: { id: this.data.detail.id },
        data: { score, comment },
      })
      this.setData({ rating: false, ratingEditing: false })
      // The answer is the case when the server sends it; otherwise read it again.
      if (answer && answer.id && answer.status) this.show(answer)
      else await this.load()
      wx.showToast({ title: '感谢您的评价', icon: 'success' })
    } catch (err) {
      this.setData({ rating: false, ratingError: err.message })
    }
  },
})
