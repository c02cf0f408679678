"""The explorer's application logic, Qt-free: the session (worker thread, model, renders, jobs),
the explorer (state, history, bookmarks, directions, what is stale) and their typed messages.

Import from the submodules (`core.explorer.session`, `.explorer`, `.requests`, `.state`): this
package imports nothing itself, because core/render.py uses `state` and `requests` while
`session` uses core/render.py.
"""
