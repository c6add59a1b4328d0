"""The LDM Explorer Gradio app: layout, one module per tab, handlers, and a registry that loads each model once.

from demo import build_demo, find_model_dirs
app = build_demo(find_model_dirs("checkpoints"))
"""

from .layout import LAUNCH_KWARGS, QUEUE_KWARGS, build_demo
from .registry import ModelRegistry, find_model_dirs

__all__ = ["LAUNCH_KWARGS", "QUEUE_KWARGS", "ModelRegistry", "build_demo", "find_model_dirs"]
