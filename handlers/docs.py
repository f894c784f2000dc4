from __future__ import annotations

from functools import cache

import orjson
from aiohttp import web

from handlers.base import Call, endpoint
from handlers.openapi import build_document


@cache
def _document_bytes() -> bytes:
    # Routes are declared at import time, so the document is fixed once the app is built.
    return orjson.dumps(build_document())


@endpoint("GET", "/api/openapi.json", roles=None, tag="文档", summary="OpenAPI 文档", in_openapi=False)
async def openapi_json(call: Call) -> web.Response:
    return web.Response(body=_document_bytes(), content_type="application/json")


DOCS_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>小微企业服务专区 API 文档</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>
body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f5f7fa;color:#1f2d3d}
header{background:#1f6fb2;color:#fff;padding:16px 24px}main{max-width:1100px;margin:0 auto;padding:16px}
h2{border-bottom:2px solid #1f6fb2;padding-bottom:4px}.op{background:#fff;border-radius:6px;margin:8px 0;padding:10px 14px;box-shadow:0 1px 2px #0001}
.m{display:inline-block;min-width:60px;font-weight:bold;color:#fff;border-radius:4px;text-align:center;margin-right:8px;padding:2px 6px}
.GET{background:#2f9e44}.POST{background:#1971c2}.PUT{background:#e67700}.DELETE{background:#c92a2a}
code{font-size:14px}.roles{color:#666;font-size:13px;margin-top:4px}details pre{background:#f1f3f5;padding:8px;overflow:auto;font-size:12px}
</style></head><body><header><h1>小微企业服务专区 API</h1><div>机器可读文档：<a style="color:#fff" href="/api/openapi.json">/api/openapi.json</a></div></header>
<main id="app">加载中…</main>
<script>
fetch('/api/openapi.json').then(r=>r.json()).then(doc=>{
  const byTag={};
  for(const [path,ops] of Object.entries(doc.paths)) for(const [m,op] of Object.entries(ops)) (byTag[op.tags[0]]=byTag[op.tags[0]]||[]).push([m.toUpperCase(),path,op]);
  const esc=s=>String(s).replace(/[&<>]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;'}[c]));
  let html='<p>'+esc(doc.info.description)+'</p>';
  for(const [tag,ops] of Object.entries(byTag)){
    html+='<h2>'+esc(tag)+'</h2>';
    for(const [m,path,op] of ops){
      const roles=op['x-roles']==='public'?'公开':op['x-roles'].join('、');
      const body=op.requestBody?JSON.stringify(op.requestBody.content,null,2):'';
      html+='<div class="op"><span class="m '+m+'">'+m+'</span><code>'+esc(path)+'</code> '+esc(op.summary)
        +'<div class="roles">可调用：'+esc(roles)+' · 响应：'+Object.keys(op.responses).join(' ')+'</div>'
        +(body?'<details><summary>请求体</summary><pre>'+esc(body)+'</pre></details>':'')+'</div>';
    }
  }
  document.getElementById('app').innerHTML=html;
});
</script></body></html>"""


@endpoint("GET", "/api/docs", roles=None, tag="文档", summary="API 文档页面", in_openapi=False,
          produces="text/html")
async def docs_page(call: Call) -> web.Response:
    return web.Response(text=DOCS_PAGE, content_type="text/html")
