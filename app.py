"""LDM Explorer: the Gradio app over the models in checkpoints/ (Hugging Face Spaces runs this file).

python app.py                                  # http://127.0.0.1:7860
GRADIO_SERVER_NAME=0.0.0.0 GRADIO_SERVER_PORT=8080 python app.py
LDM_NUM_THREADS=2 python app.py                # torch threads (default: all cores)
LDM_COMPILE=1 python app.py                    # torch.compile the denoisers in the background after start
                                               # (minutes on 2 cores; each serves eager until it is compiled)
"""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no telemetry, no version check
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from demo import LAUNCH_KWARGS, build_demo, find_model_dirs

torch.set_num_threads(int(os.environ.get("LDM_NUM_THREADS", os.cpu_count() or 1)))
CHECKPOINTS = os.environ.get("LDM_CHECKPOINTS", os.path.join(os.path.dirname(os.path.abspath(__file__)), "checkpoints"))

demo = build_demo(find_model_dirs(CHECKPOINTS))
if os.environ.get("LDM_COMPILE", "0") == "1" and len(demo.registry):
    demo.registry.compile_in_background()

if __name__ == "__main__":
    demo.launch(**LAUNCH_KWARGS)  # host and port from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT
