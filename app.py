"""LDM Explorer: the Gradio app over the models in checkpoints/ (Hugging Face Spaces runs this file).

python app.py                                  # http://127.0.0.1:7860
GRADIO_SERVER_NAME=0.0.0.0 GRADIO_SERVER_PORT=8080 python app.py
LDM_NUM_THREADS=2 python app.py                # torch threads of the sampler (default: all cores)
LDM_COMPILE=1 python app.py                    # torch.compile the denoisers in the background after start
                                               # (minutes on 2 cores; each serves eager until it is compiled)
LDM_LOG_BATCHES=1 python app.py                # print each batched sampling run (requests, images, seconds)
LDM_COMPILE=0 python app.py                    # plain eager denoisers (default: TorchScript graphs, built in
                                               # the background in about a second; see ldm_core/compiled.py)
"""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no telemetry, no version check
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Gradio's queue keeps a record of the last 10,000 events for its monitoring page (about 0.7 kB each, read when the
# queue is made): 1,000 are enough, and a long-running class session then does not grow by 7 MB.
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")
# Before torch is imported: one torch thread in every thread but the sampler's, which gets LDM_NUM_THREADS (all
# cores by default; demo.registry.sampling_threads). Each thread that runs torch with several threads gets its own
# OpenMP team, and with more team threads than cores they sleep between ops: the sampler's UNet then ran 2x slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from demo import LAUNCH_KWARGS, build_demo, find_model_dirs
from demo.registry import unet_backend

CHECKPOINTS = os.environ.get("LDM_CHECKPOINTS", os.path.join(os.path.dirname(os.path.abspath(__file__)), "checkpoints"))

BACKEND = unet_backend()  # LDM_COMPILE, checked before anything loads
if os.environ.get("LDM_LOG_BATCHES") == "1":  # one line per batched sampling run (benchmarks/bench_serving.py reads it)
    import logging

    logging.basicConfig(format="%(name)s: %(message)s")
    logging.getLogger("ldm_core.batching").setLevel(logging.INFO)
demo = build_demo(find_model_dirs(CHECKPOINTS))
if BACKEND and len(demo.registry):
    demo.registry.compile_in_background(BACKEND)

if __name__ == "__main__":
    demo.launch(**LAUNCH_KWARGS)  # host and port from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT
