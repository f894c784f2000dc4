"""The WeChat platform adapter: async API gateway, callback crypto, sandbox simulator.

This package stands at the outer edge of the import graph: it must not import
``server``, ``handlers``, ``services`` or ``models``. What it needs from the rest
of the product (a Redis client, the key builder, settings values) is handed in,
so the adapter can be tested — and replaced — on its own.
"""
