"""The application: jobs that tie a source, a stream and a renderer.

`stream_job.py` runs one live session from its source to its verdict (`signals.py`: how it
hears Ctrl-C; `session_figures.py`: the lags and billed time it reports); `batch_run.py`
runs one command over many inputs (`batch_input.py`: an input of it, streamed). Below them
the drivers (`client/`), the sources (`audio/`) and the renderers (`render/`); above them
the commands (`cli/`), which build the objects, decide whether an embedded server runs
(`cli/local_server.py`), and call one function.
"""
