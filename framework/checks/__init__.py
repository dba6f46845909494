"""Built-in ``raccord_check`` plugins: checks that ship with the framework.

They are registered by :func:`framework.plugins.make_plugin_manager` like any plugin
(and can be blocked by name, like any plugin).
"""
