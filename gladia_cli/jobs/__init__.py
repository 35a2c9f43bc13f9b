"""The application: jobs that tie a source, a stream and a renderer.

`stream_job.py` runs one live session from source to verdict; `batch_run.py` runs one
command over many inputs. Below them the drivers (`client/`), the sources (`audio/`) and
the renderers (`render/`); above them the commands (`cli/`), which build the objects,
decide whether an embedded server runs (`cli/local_server.py`), and call one function.
"""
