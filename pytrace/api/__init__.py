"""The Python API behind `import pytrace` (compile, trace, run; sessions, map views,
events). Its public names are re-exported by the `pytrace` package; see
docs/python-api.md."""
