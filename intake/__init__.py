"""The hotline intake application: Twisted services, HTTP API, channels, pipeline, persistence, CLI."""
import os as _os

# One BLAS thread per process. Scoring a report is a small matrix-vector product; OpenBLAS's
# default (one thread per core) split it across both cores and spun waiting for them: on the
# board's real letters the classify path cost 1,712 us of CPU per message with the default and
# 1,035 us with one thread, at the same wall-clock rate (bench/bench_classify.py --real). The
# service has its own threads (reactor, database, ASR) for those cores. Only a default: a deployment
# can still set these variables. Must run before numpy is first imported, hence here.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_var, "1")
