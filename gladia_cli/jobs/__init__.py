"""The application: every job a command runs, from what its options decided to a verdict.

`streaming.py` runs one live session for an opened source (`stream_plan.py`: what it
takes; `stream_job.py`: the session from its first audio to its verdict; `signals.py`: how
it hears Ctrl-C; `session_figures.py`: the lags and billed time it reports; `speakers.py`:
`--speakers` after it). `prerecorded.py` runs `transcribe`'s jobs. `many_run.py` runs one
command over many inputs (`inputs.py`: which; `batch_run.py`: the queue, workers, outputs
and exit code; `batch_input.py`: an input streamed), with `stream_many.py` (live sessions)
or `prerecorded_many.py` (pre-recorded jobs). `stored.py` shows, lists and deletes what the
server keeps. Below them the drivers (`client/`), the sources (`audio/`) and the renderers
(`render/`); above them the commands (`cli/`), which check the options into a plan,
decide whether an embedded server runs (`cli/local_server.py`, handed in as `server_for`:
`server.py`), and call one job.
"""
