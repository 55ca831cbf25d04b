"""The small kernel every plugin meets: settings, plugins, runtime, errors, HTTP helpers."""
