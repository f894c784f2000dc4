"""Composition root: settings, the app factory, middlewares, routes, CLI, scheduler."""
