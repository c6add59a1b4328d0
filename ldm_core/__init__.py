"""LDM Explorer: a small, readable latent diffusion library (VAE, schedules, UNet, samplers, pipeline)."""

from .batching import Batcher, ServerBusy
from .pipeline import LatentDiffusionPipeline, PipelineOutput
from .samplers import SAMPLERS, StepInfo
from .sampling import Preview, SamplingJob
from .schedule import NoiseSchedule, make_schedule, make_timesteps
from .unet import UNet, UNetConfig
from .vae import VAE, DiagonalGaussian, VAEConfig

__all__ = [
    "SAMPLERS",
    "Batcher",
    "Preview",
    "SamplingJob",
    "ServerBusy",
    "VAE",
    "DiagonalGaussian",
    "LatentDiffusionPipeline",
    "NoiseSchedule",
    "PipelineOutput",
    "StepInfo",
    "UNet",
    "UNetConfig",
    "VAEConfig",
    "make_schedule",
    "make_timesteps",
]
__version__ = "0.1.0"
