// One-time subscribe messages (订阅消息): each "允许" in WeChat's popup lets the
// server send the user one message with that template. The popup's answer is
// reported to the server so it knows how many messages it may send; WeChat
// also tells the server through its own event, so a lost report costs nothing.

const config = require('../config')
const { request } = require('./request')

const OUTCOMES = ['accept', 'reject', 'ban', 'filter']

// What the person is told after the popup closes, by the policy template's outcome.
const OUTCOME_MESSAGES = {
  accept: '订阅成功，有新政策时将提醒您',
  reject: '您未允许提醒，可随时再次订阅',
  ban: '该提醒已被微信停用，请在“消息”中查看新政策',
  filter: '该提醒暂不可用，请在“消息”中查看新政策',
}

// errCode of wx.requestSubscribeMessage's fail callback.
const FAILURE_MESSAGES = {
  20004: '您已关闭订阅消息，请在右上角“…”→“设置”中开启',
  20005: '小程序暂时无法发送提醒',
}
const GENERIC_FAILURE = '暂时无法订阅，请稍后重试'

/**
 * wx.requestSubscribeMessage answers {<template id>: 'accept'|…, errMsg}; keep
 * only the templates we asked for and outcomes the server understands.
 */
function resultsOf(tmplIds, answer) {
  const res = answer || {}
  return tmplIds
    .filter((id) => OUTCOMES.indexOf(res[id]) >= 0)
    .map((id) => ({ template_id: id, outcome: res[id] }))
}

/**
 * Show WeChat's subscribe popup for the policy template and report the answer.
 * Resolves {results, message}; `message` is what to show the person.
 *
 * Call it directly from a tap handler, before any await: WeChat only shows the
 * popup while it is still handling the tap, and refuses it afterwards.
 */
function subscribePolicyReminders() {
  const tmplIds = [config.policyTemplateId]
  return new Promise((resolve) => {
    wx.requestSubscribeMessage({
      tmplIds,
      success: (answer) => resolve({ answer }),
      fail: (err) => resolve({ err: err || {} }),
    })
  }).then(async ({ answer, err }) => {
    if (err) {
      return { results: [], message: FAILURE_MESSAGES[err.errCode] || GENERIC_FAILURE }
    }
    const results = resultsOf(tmplIds, answer)
    if (results.length) {
      try {
        await request({ api: 'subscriptionResults', data: { results } })
      } catch (reportError) {
        // Deliberately quiet: the server also learns of the grant from WeChat's
        // popup event, and the person did nothing wrong.
      }
    }
    const policy = results.find((r) => r.template_id === config.policyTemplateId)
    return { results, message: policy ? OUTCOME_MESSAGES[policy.outcome] : GENERIC_FAILURE }
  })
}

/**
 * Ask once for the case-notice template (答复、办结 notices) when a case is
 * submitted, so the answer can reach the person outside the mini-program.
 * Never blocks the submission and never shows anything: a refusal only means
 * the answer waits in 我的咨询. Like the policy popup, call it inside the tap.
 */
function subscribeCaseNotices() {
  const tmplIds = [config.noticeTemplateId]
  return new Promise((resolve) => {
    try {
      wx.requestSubscribeMessage({
        tmplIds,
        success: (answer) => resolve(resultsOf(tmplIds, answer)),
        fail: () => resolve([]),
      })
    } catch (err) {
      resolve([]) // an old client without the API
    }
  }).then((results) => {
    if (!results.length) return results
    return request({ api: 'subscriptionResults', data: { results } }).then(() => results, () => results)
  })
}

module.exports = {
  subscribeCaseNotices,
  OUTCOMES,
  OUTCOME_MESSAGES,
  FAILURE_MESSAGES,
  resultsOf,
  subscribePolicyReminders,
}
