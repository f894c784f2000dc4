// The client/server contract: every operation in utils/api.js must exist in
// the backend's OpenAPI document, with the query parameters and body fields
// the mini-program sends. Run against the document the backend generates, so
// a renamed route or field breaks this test instead of the app in people's hands.
//
// Document location: $OPENAPI_JSON (relative paths from the current
// directory), else ../build/openapi.json next to miniprogram/.

const fs = require('fs')
const path = require('path')
const { API } = require('../utils/api')

const MINIPROGRAM_ROOT = path.resolve(__dirname, '..')
const DOCUMENT_PATH = process.env.OPENAPI_JSON
  ? path.resolve(process.cwd(), process.env.OPENAPI_JSON)
  : path.resolve(MINIPROGRAM_ROOT, '..', 'build', 'openapi.json')

const HOW_TO_GENERATE = 'Generate it from the repository root with:\n'
  + '    python -m server openapi --out build/openapi.json\n'
  + 'or set OPENAPI_JSON to the path of an existing document.'

function loadDocument() {
  if (!fs.existsSync(DOCUMENT_PATH)) {
    throw new Error(`OpenAPI document not found at ${DOCUMENT_PATH}.\n${HOW_TO_GENERATE}`)
  }
  let doc
  try {
    doc = JSON.parse(fs.readFileSync(DOCUMENT_PATH, 'utf8'))
  } catch (err) {
    throw new Error(`OpenAPI document at ${DOCUMENT_PATH} is not valid JSON (${err.message}).\n${HOW_TO_GENERATE}`)
  }
  if (!doc || typeof doc.paths !== 'object' || !doc.paths) {
    throw new Error(`OpenAPI document at ${DOCUMENT_PATH} has no "paths" object.\n${HOW_TO_GENERATE}`)
  }
  return doc
}

let loaded
function document() {
  if (!loaded) {
    try {
      loaded = { doc: loadDocument() }
    } catch (error) {
      loaded = { error }
    }
  }
  if (loaded.error) throw loaded.error
  return loaded.doc
}

// Parameter names are the client's own business ({id} here, {item_id} there):
// the shape of the path is the contract.
function pathShape(template) {
  return template.replace(/\{[^}]+\}/g, '{}')
}

// A server URL such as "/api/v1" is a prefix for every key of "paths".
function serverPrefix(doc) {
  const url = doc.servers && doc.servers[0] && doc.servers[0].url
  if (!url) return ''
  const pathname = url.replace(/^[a-z]+:\/\/[^/]+/i, '')
  return pathname === '/' ? '' : pathname.replace(/\/$/, '')
}

function findOperation(doc, entry) {
  const prefix = serverPrefix(doc)
  const wanted = pathShape(entry.path)
  const key = Object.keys(doc.paths).find((p) => pathShape(prefix + p) === wanted)
  if (!key) return { error: `${entry.method} ${entry.path}: path not in the OpenAPI document` }
  const item = doc.paths[key]
  const operation = item[entry.method.toLowerCase()]
  if (!operation) {
    const methods = Object.keys(item).filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
    return { error: `${entry.method} ${entry.path}: path exists but only for ${methods.join(', ').toUpperCase() || 'no methods'}` }
  }
  return { key, pathItem: item, operation }
}

function resolve(doc, node, seen = new Set()) {
  if (!node || typeof node !== 'object' || !node.$ref) return node
  if (seen.has(node.$ref)) return {}
  seen.add(node.$ref)
  const target = node.$ref.replace(/^#\//, '').split('/').reduce((acc, part) => (acc ? acc[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), doc)
  return resolve(doc, target, seen)
}

/** Property names and required names of a schema, following $ref and allOf/anyOf/oneOf. */
function schemaFields(doc, schemaNode) {
  const schema = resolve(doc, schemaNode) || {}
  const properties = new Set(Object.keys(schema.properties || {}))
  const required = new Set(schema.required || [])
  ;['allOf', 'anyOf', 'oneOf'].forEach((combinator) => {
    (schema[combinator] || []).forEach((part) => {
      const sub = schemaFields(doc, part)
      sub.properties.forEach((p) => properties.add(p))
      if (combinator === 'allOf') sub.required.forEach((r) => required.add(r))
    })
  })
  return { properties, required }
}

const entries = Object.entries(API)

describe(`contract with the backend OpenAPI document (${path.relative(process.cwd(), DOCUMENT_PATH) || DOCUMENT_PATH})`, () => {
  test('the OpenAPI document exists and is readable', () => {
    expect(Object.keys(document().paths).length).toBeGreaterThan(0)
  })

  test('every operation in utils/api.js exists in "paths" with its method', () => {
    const doc = document()
    const problems = entries
      .map(([name, entry]) => {
        const found = findOperation(doc, entry)
        return found.error ? `${name}: ${found.error}` : null
      })
      .filter(Boolean)
    expect(problems).toEqual([])
  })

  test('every query parameter the app sends is declared by the operation', () => {
    const doc = document()
    const problems = []
    entries.filter(([, entry]) => entry.query).forEach(([name, entry]) => {
      const found = findOperation(doc, entry)
      if (found.error) return // reported by the test above
      const declared = [].concat(found.pathItem.parameters || [], found.operation.parameters || [])
        .map((p) => resolve(doc, p))
        .filter((p) => p && p.in === 'query')
        .map((p) => p.name)
      entry.query.forEach((param) => {
        if (!declared.includes(param)) problems.push(`${name}: query parameter "${param}" is not declared (declared: ${declared.join(', ') || 'none'})`)
      })
    })
    expect(problems).toEqual([])
  })

  test('every JSON body the app sends matches the operation\'s request schema', () => {
    const doc = document()
    const problems = []
    entries.filter(([, entry]) => entry.body).forEach(([name, entry]) => {
      const found = findOperation(doc, entry)
      if (found.error) return
      const requestBody = resolve(doc, found.operation.requestBody)
      const media = requestBody && requestBody.content && requestBody.content['application/json']
      if (!media || !media.schema) {
        problems.push(`${name}: ${entry.method} ${entry.path} does not describe an application/json request body`)
        return
      }
      const { properties, required } = schemaFields(doc, media.schema)
      entry.body.forEach((field) => {
        if (!properties.has(field)) problems.push(`${name}: body field "${field}" is not in the request schema`)
      })
      required.forEach((field) => {
        if (!entry.body.includes(field)) problems.push(`${name}: the server requires "${field}", which the app never sends`)
      })
    })
    expect(problems).toEqual([])
  })

  test('operations the app calls without logging in do not demand authentication', () => {
    const doc = document()
    const problems = entries
      .filter(([, entry]) => entry.auth === false)
      .map(([name, entry]) => {
        const found = findOperation(doc, entry)
        if (found.error) return null
        // Only an explicit per-operation requirement is taken as a demand;
        // a document-wide default is commonly overridden in code for public routes.
        const security = found.operation.security
        return Array.isArray(security) && security.length && security.every((s) => Object.keys(s).length)
          ? `${name}: ${entry.method} ${entry.path} requires authentication, but the app calls it without a token`
          : null
      })
      .filter(Boolean)
    expect(problems).toEqual([])
  })
})
