"""LatentDiffusionPipeline: the one place that knows the VAE, the denoiser, the schedule and the samplers.

    image --vae.encode--> z_0 * scaling_factor --sampler(unet, schedule)--> ẑ_0 --vae.decode(ẑ_0 / scaling_factor)--> image

Every task checks its settings into one frozen ``SamplingArgs``, builds a ``SamplingJob`` (its starting latents and
per-image classes, guidance, eta and generators) and hands it to ``self.run_job``: the shared sampling routine of
``sampling.py``, run directly or, when ``self.batcher`` is set (the app), merged with other requests' jobs.

Seeds become generators in ``generators_for`` and nowhere else: image i of a call uses
``torch.Generator().manual_seed(seed + i)`` for all of its draws (initial noise first, then every draw the sampler
makes).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from . import images as imx
from .arguments import MAX_BATCH, MAX_SEED, SamplingArgs, check_choice, check_labels, check_number, check_seeds
from .checkpoint import CheckpointError, load_model_folder, load_state, save_model_folder
from .compiled import CompiledUNet, threads_for_batch
from .previews import PREVIEW_FILE, LinearPreviewDecoder
from .previews import config_dict as preview_config_dict
from .previews import from_config_dict as preview_config
from .samplers import DEFAULT_SAMPLER, SAMPLERS, StepInfo, ddim_invert, guided_denoiser, randn
from .sampling import REPAINT, Preview, SamplingJob, preview_every, run_job
from .schedule import NoiseSchedule, make_schedule
from .unet import UNet, UNetConfig
from .vae import VAE, VAEConfig

__all__ = ["MAX_BATCH", "MAX_SEED", "LatentDiffusionPipeline", "PipelineOutput", "Preview", "lerp", "slerp"]

INTERPOLATION_METHODS = ("slerp", "lerp")
EDIT_METHODS = ("sdedit", "inversion")
INPAINT_METHODS = ("blend", "repaint")
Runner = Callable[[SamplingJob], Tensor]
PreviewCallback = Callable[[Preview], None]


@dataclass
class PipelineOutput:
    images: np.ndarray | list[Image.Image] | Tensor  # [N, H, W, C] in [0, 1], PIL images, or latents
    latents: Tensor  # final scaled latents ẑ_0 [N, c, h, w]
    class_labels: list[int]  # -1 = unconditional
    seeds: list[int]  # seed of each image
    timesteps: list[int]  # the timesteps the sampler visited
    num_inference_steps_run: int  # how many sampler steps ran (img2img runs int(N * strength))
    intermediates: list[dict[str, Any]] = field(default_factory=list)  # per step: i, t, x_t, x0 (latents)
    extras: dict[str, Any] = field(default_factory=dict)  # method-specific results (e.g. the latent mask)


def slerp(a: Tensor, b: Tensor, w: float) -> Tensor:
    """Spherical interpolation per image between noise tensors a, b [B, ...] (Shoemake 1985); exact at w = 0, 1."""
    if w == 0.0:
        return a.clone()
    if w == 1.0:
        return b.clone()
    af, bf = a.flatten(1).double(), b.flatten(1).double()
    cos = (af * bf).sum(1) / (af.norm(dim=1) * bf.norm(dim=1))
    theta = torch.arccos(cos.clamp(-1.0, 1.0))[:, None]  # [B, 1]
    sin = torch.sin(theta)
    out = torch.where(
        sin.abs() < 1e-6,
        (1 - w) * af + w * bf,  # (nearly) parallel: lerp
        (torch.sin((1 - w) * theta) * af + torch.sin(w * theta) * bf) / sin,
    )
    return out.to(a.dtype).view_as(a)


def lerp(a: Tensor, b: Tensor, w: float) -> Tensor:
    if w == 0.0:
        return a.clone()
    if w == 1.0:
        return b.clone()
    return (1 - w) * a + w * b


def generators_for(seeds: Sequence[int]) -> list[torch.Generator]:
    """The single place where seeds become randomness: one CPU generator per image."""
    return [torch.Generator("cpu").manual_seed(int(s)) for s in seeds]


class LatentDiffusionPipeline:
    """Class-conditional latent diffusion: generate, img2img, inpaint, interpolate, invert."""

    def __init__(
        self,
        vae: VAE,
        unet: UNet,
        schedule: NoiseSchedule,
        scaling_factor: float,
        class_names: Sequence[str],
        *,
        default_guidance_scale: float = 3.0,
        name: str = "model",
        extra_config: dict[str, Any] | None = None,
    ):
        if len(class_names) != unet.config.num_classes:
            raise ValueError(f"{len(class_names)} class names for a UNet of {unet.config.num_classes} classes")
        if vae.config.latent_channels != unet.config.in_channels:
            raise ValueError(
                f"VAE latent channels ({vae.config.latent_channels}) != UNet channels ({unet.config.in_channels})"
            )
        self.vae = vae.eval()
        self.unet = unet.eval()
        self.schedule = schedule
        self.scaling_factor = float(scaling_factor)
        self.class_names = list(class_names)
        self.default_guidance_scale = float(default_guidance_scale)
        self.name = name
        self.extra_config = dict(extra_config or {})
        self.batcher: Runner | None = None  # set by the app: jobs then run merged with other requests' jobs
        self.preview_decoder: LinearPreviewDecoder | None = None  # a cheap latent -> image decoder for live previews
        self.compiled_unet: CompiledUNet | None = None  # set by ``compile``: the UNet's calls once it is warmed up
        self.guidance_interval: tuple[int, int] = self._full_interval  # guidance only at lo <= t < hi (see setter)
        self.default_sampler = DEFAULT_SAMPLER  # what ``sampler=None`` means (config.json ``default_sampler``)

    # ------------------------------------------------------------------ loading and saving
    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, device: str | torch.device = "cpu") -> LatentDiffusionPipeline:
        """Load a model folder (``config.json`` + ``vae.safetensors`` + ``unet.safetensors``), hashes checked."""
        config, weights = load_model_folder(folder)
        for part in ("vae", "unet"):
            if part not in weights or part not in config:
                raise CheckpointError(
                    f"{Path(folder)} has no {part}: a pipeline needs {part}.safetensors and its config"
                )
        try:
            vae = VAE(VAEConfig(**config["vae"]), image_size=int(config["image_size"]))
            unet = UNet(UNetConfig(**config["unet"]))
            schedule = make_schedule(**config["schedule"])
        except (TypeError, KeyError) as e:
            raise CheckpointError(f"{Path(folder) / 'config.json'} has an unusable model config: {e}") from e
        load_state(vae, weights["vae"], "vae")
        load_state(unet, weights["unet"], "unet")
        preview = None
        if PREVIEW_FILE in weights:  # the cheap decoder for live previews (previews.py), when the folder has one
            try:
                preview = LinearPreviewDecoder(preview_config(config[PREVIEW_FILE]))
            except (TypeError, KeyError) as e:
                raise CheckpointError(f"{Path(folder) / 'config.json'} has an unusable preview config: {e}") from e
            load_state(preview, weights[PREVIEW_FILE], PREVIEW_FILE)
        known = {"vae", "unet", "schedule", "image_size", "scaling_factor", "class_names", "default_guidance_scale",
                 "name", "files", "format", "format_version", PREVIEW_FILE, "guidance_interval",
                 "default_sampler"}  # fmt: skip
        pipe = cls(
            vae,
            unet,
            schedule,
            config["scaling_factor"],
            config["class_names"],
            default_guidance_scale=config.get("default_guidance_scale", 3.0),
            name=config.get("name", Path(folder).name),
            extra_config={k: v for k, v in config.items() if k not in known},
        )
        pipe.preview_decoder = preview.eval() if preview is not None else None
        if "guidance_interval" in config:
            try:
                pipe.set_guidance_interval(*config["guidance_interval"])
            except (TypeError, ValueError) as e:
                raise CheckpointError(f"{Path(folder) / 'config.json'} has an unusable guidance_interval: {e}") from e
        if "default_sampler" in config:
            if not isinstance(config["default_sampler"], str) or config["default_sampler"] not in SAMPLERS:
                raise CheckpointError(f"{Path(folder) / 'config.json'} has an unknown default_sampler "
                                      f"{config['default_sampler']!r}; allowed: {sorted(SAMPLERS)}")  # fmt: skip
            pipe.default_sampler = config["default_sampler"]
        return pipe.to(device)

    def config_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "image_size": self.vae.image_size,
            "vae": asdict(self.vae.config),
            "unet": asdict(self.unet.config),
            "schedule": {"name": self.schedule.name, "num_train_timesteps": self.schedule.num_train_timesteps},
            "scaling_factor": self.scaling_factor,
            "class_names": self.class_names,
            "default_guidance_scale": self.default_guidance_scale,
            **(
                {"guidance_interval": list(self.guidance_interval)}
                if self.guidance_interval != self._full_interval
                else {}
            ),
            **({"default_sampler": self.default_sampler} if self.default_sampler != DEFAULT_SAMPLER else {}),
            **self.extra_config,
            **(
                {PREVIEW_FILE: preview_config_dict(self.preview_decoder.config)}
                if self.preview_decoder is not None
                else {}
            ),
        }

    def save_pretrained(self, folder: str | os.PathLike, dtype: torch.dtype | None = None) -> Path:
        """Write config.json + vae/unet safetensors. ``dtype`` (e.g. torch.float16) stores the floating-point weights
        in that type, which halves the folder; they load back into the float32 modules."""

        def cast(state: dict[str, Tensor]) -> dict[str, Tensor]:
            return {k: v.to(dtype) if dtype is not None and v.is_floating_point() else v for k, v in state.items()}

        weights = {"vae": cast(self.vae.state_dict()), "unet": cast(self.unet.state_dict())}
        if self.preview_decoder is not None:
            weights[PREVIEW_FILE] = cast(self.preview_decoder.state_dict())
        return save_model_folder(folder, self.config_dict(), weights)

    def to(self, device: str | torch.device) -> LatentDiffusionPipeline:
        self.compiled_unet = None  # compiled for the old device
        self.vae.to(device)
        self.unet.to(device)
        if self.preview_decoder is not None:
            self.preview_decoder.to(device)
        return self

    @property
    def device(self) -> torch.device:
        return next(self.unet.parameters()).device

    @property
    def image_size(self) -> int:
        return self.vae.image_size

    @property
    def image_channels(self) -> int:
        return self.vae.config.in_channels

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        s = self.vae.config.latent_size(self.image_size)
        return (self.vae.config.latent_channels, s, s)

    @property
    def num_train_timesteps(self) -> int:
        return self.schedule.num_train_timesteps

    @property
    def sampler_names(self) -> list[str]:
        return list(SAMPLERS)

    @property
    def prediction_type(self) -> str:
        return self.unet.config.prediction_type

    @property
    def _full_interval(self) -> tuple[int, int]:
        return (0, self.schedule.num_train_timesteps)

    def set_guidance_interval(self, lo: Any, hi: Any) -> None:
        """Apply classifier-free guidance only at timesteps lo <= t < hi and sample plainly conditional (scale 1,
        one UNet pass) elsewhere (Kynkäänniemi et al. 2024: guidance at high noise costs diversity, at low noise it
        does little). The default (0, T) guides every step; the model's config may keep another."""
        T = self.schedule.num_train_timesteps
        check_number("guidance interval start", lo, 0, T - 1, integer=True)
        check_number("guidance interval end", hi, 1, T, integer=True)
        if not int(lo) < int(hi):
            raise ValueError(f"the guidance interval needs start < end, got [{lo}, {hi})")
        self.guidance_interval = (int(lo), int(hi))

    # ------------------------------------------------------------------ checks
    def check_args(self, num_inference_steps: Any = 50, guidance_scale: Any = None, sampler: Any = None,
                   eta: Any = 0.0, output_type: Any = "np", timestep_spacing: Any = "trailing") -> SamplingArgs:  # fmt: skip
        """The sampler settings of a call, checked; ``guidance_scale=None`` and ``sampler=None`` take the model's
        defaults (``default_guidance_scale``, ``default_sampler``)."""
        return SamplingArgs.check(self.num_train_timesteps, self.default_guidance_scale, num_inference_steps,
                                  guidance_scale, self.default_sampler if sampler is None else sampler, eta,
                                  output_type, timestep_spacing)  # fmt: skip

    def _labels(self, class_labels: Any, num_images: int | None = None) -> list[int]:
        return check_labels(class_labels, self.class_names, self.name, num_images)

    def _image(self, image: Any, name: str = "image") -> np.ndarray:
        """Any accepted image -> float32 [H, W, C] in [0, 1] at the model's size and channels."""
        return self._fit(imx.to_float_array(image, name), name)

    def _fit(self, arr: np.ndarray, name: str = "image") -> np.ndarray:
        """float32 [H, W, C] in [0, 1] (from ``to_float_array``) -> the model's channels and size."""
        arr = imx.match_channels(arr, self.image_channels)
        return imx.resize_square(arr, self.image_size, name)

    def _mask(self, mask: Any, image_hw: tuple[int, int]) -> np.ndarray:
        """Mask (1 = repaint) -> float32 {0, 1} [H, W] at the model's size; it must match the image's size."""
        if isinstance(mask, np.ndarray) and mask.dtype != np.bool_ and np.issubdtype(mask.dtype, np.integer):
            if mask.size and mask.min() >= 0 and mask.max() <= 1:  # a 0/1 integer mask
                mask = mask.astype(np.float32)
            elif mask.dtype != np.uint8:
                raise TypeError(f"an integer mask must be uint8 (0..255) or hold only 0 and 1, got dtype {mask.dtype}")
        arr = imx.to_float_array(mask, "mask")
        if arr.shape[:2] != image_hw:
            raise ValueError(
                f"mask must have the image's size {image_hw[1]}x{image_hw[0]}, got {arr.shape[1]}x{arr.shape[0]}"
            )
        if arr.shape[-1] in (2, 4):  # an RGBA mask layer: painted where alpha > 0
            arr = arr[..., -1:]
        arr = (arr.max(axis=-1) > 0.5).astype(np.float32)
        arr = imx.resize_square(arr[..., None], self.image_size, "mask", resample=Image.NEAREST)[..., 0]
        return (arr > 0.5).astype(np.float32)

    # ------------------------------------------------------------------ building blocks
    @staticmethod
    def make_generators(seed: int, n: int) -> list[torch.Generator]:
        """Image i gets a CPU generator seeded seed + i."""
        return generators_for([int(seed) + i for i in range(n)])

    def initial_noise(self, seeds: Sequence[int]) -> Tensor:
        """x_T ~ N(0, I) [N, c, h, w], one fresh generator per seed (the same draw ``__call__`` makes first)."""
        return randn((len(seeds), *self.latent_shape), generators_for(seeds))

    def class_embeddings(self, labels: Sequence[int]) -> Tensor:
        return self.unet.embed_class(torch.tensor(list(labels), dtype=torch.long, device=self.device))

    def null_embeddings(self, n: int) -> Tensor:
        return self.class_embeddings([-1] * n)

    def model_output(self, x: Tensor, t: Tensor, class_emb: Tensor) -> Tensor:
        """The UNet's raw prediction (ε̂ or v̂, see ``prediction_type``) for x_t [B, c, h, w] at t [B]."""
        with threads_for_batch(len(x)):
            if self.compiled_unet is not None:
                return self.compiled_unet(x, t, class_emb)
            return self.unet(x, t, class_emb=class_emb)

    def compile(self, background: bool = False, backend: str = "inductor") -> CompiledUNet:
        """Run the UNet as one graph (``ldm_core.compiled``): ``"inductor"`` (``torch.compile``, minutes to build) or
        ``"torchscript"`` (traced and frozen, under a second); eager until the graph is built and checked against
        eager, eager for good if that fails. ``background``: build it in a thread."""
        self.compiled_unet = CompiledUNet(self.unet, self.latent_shape, backend)
        if background:
            self.compiled_unet.warm_up_in_background()
        else:
            self.compiled_unet.warm_up()
        return self.compiled_unet

    @torch.inference_mode()
    def encode(self, images: Tensor) -> Tensor:
        """Images [B, C, H, W] in [-1, 1] -> scaled latents z_0 = mode(q(z|x)) * scaling_factor [B, c, h, w]."""
        return self.vae.encode(images.to(self.device)).mode() * self.scaling_factor

    @torch.inference_mode()
    def decode(self, latents: Tensor) -> np.ndarray:
        """Scaled latents [B, c, h, w] -> float32 images [B, H, W, C] in [0, 1]."""
        return imx.to_numpy_images(self.vae.decode(latents.to(self.device) / self.scaling_factor))

    @torch.inference_mode()
    def preview_images(self, latents: Tensor) -> np.ndarray:
        """Scaled latents -> cheap float32 images [B, H, W, C] in [0, 1]: the preview decoder if the model has one,
        else the VAE decoder. Only for live previews; results always come from ``decode``."""
        if self.preview_decoder is None:
            return self.decode(latents)
        return imx.to_numpy_images(self.preview_decoder(latents.to(self.device)))

    def _denoiser(self, cond_emb: Tensor, guidance_scale: float) -> Callable[[Tensor, Tensor], Tensor]:
        return guided_denoiser(self.model_output, self.schedule, cond_emb, self.null_embeddings(len(cond_emb)),
                               guidance_scale, self.prediction_type)  # fmt: skip

    def run_job(self, job: SamplingJob) -> Tensor:
        """The shared sampling routine of every task: through the batcher when the app set one, else alone."""
        if self.batcher is not None:
            return self.batcher(job)
        return run_job(self, job)

    def _sample(
        self,
        args: SamplingArgs,
        x: Tensor,
        labels: Sequence[int] | Tensor,
        generators: list[torch.Generator],
        timesteps: Tensor,
        *,
        callback: Callable[[StepInfo], None] | None = None,
        on_preview: PreviewCallback | None = None,
        return_intermediates: bool = False,
        **job_fields: Any,
    ) -> tuple[Tensor, list[dict[str, Any]]]:
        """Build this call's ``SamplingJob`` (labels may be embeddings [n, d]) and run it."""
        n = len(x)
        emb = labels if isinstance(labels, Tensor) else self.class_embeddings(labels)
        job = SamplingJob(
            x=x.to(self.device), timesteps=timesteps, class_emb=emb, guidance=torch.full((n,), args.guidance_scale),
            eta=torch.full((n,), args.eta), generators=generators, sampler=job_fields.pop("sampler", args.sampler),
            callback=callback, on_preview=on_preview, preview_every=preview_every(len(timesteps)) if on_preview else 0,
            return_intermediates=return_intermediates, **job_fields,
        )  # fmt: skip
        return self.run_job(job), job.intermediates

    def _output(self, z: Tensor, output_type: str) -> np.ndarray | list[Image.Image] | Tensor:
        if output_type == "latent":
            return z
        images = self.decode(z)
        return imx.to_pil(images) if output_type == "pil" else images

    # ------------------------------------------------------------------ the public contract
    def __call__(
        self,
        class_labels: Sequence[int | None] | int | None = None,
        num_inference_steps: int = 50,
        guidance_scale: float | None = None,
        sampler: str | None = None,
        eta: float = 0.0,
        seed: int = 0,
        output_type: str = "np",
        *,
        num_images: int | None = None,
        latents: Tensor | None = None,
        variation_seed: int | None = None,
        variation_strength: float = 0.0,
        timestep_spacing: str = "trailing",
        callback: Callable[[StepInfo], None] | None = None,
        on_preview: PreviewCallback | None = None,
        return_intermediates: bool = False,
    ) -> PipelineOutput:
        """Generate images of the given classes from noise.

        ``latents`` [N, c, h, w] replaces the initial noise (e.g. from ``invert``). ``variation_seed`` and
        ``variation_strength`` (in [0, 1]) slerp each image's noise towards the noise of ``variation_seed + i``,
        as the "variation seed" of Automatic1111. ``on_preview`` receives cheaply decoded x̂_0 about 12 times a run.
        """
        args = self.check_args(num_inference_steps, guidance_scale, sampler, eta, output_type, timestep_spacing)
        labels = self._labels(class_labels, num_images)
        seeds = check_seeds(seed, len(labels))
        check_number("variation_strength", variation_strength, 0.0, 1.0)
        gens = generators_for(seeds)
        x = randn((len(labels), *self.latent_shape), gens)  # x_T, drawn first from each image's generator
        if latents is not None:
            if tuple(latents.shape) != tuple(x.shape):
                raise ValueError(f"latents must have shape {tuple(x.shape)}, got {tuple(latents.shape)}")
            x = latents.detach().float().cpu()
        if variation_seed is not None and variation_strength > 0:
            var_seeds = check_seeds(variation_seed, len(labels), "variation_seed")
            x = slerp(x, self.initial_noise(var_seeds), float(variation_strength))
        timesteps = args.timesteps()
        z, inter = self._sample(args, x, labels, gens, timesteps, callback=callback, on_preview=on_preview,
                                return_intermediates=return_intermediates)  # fmt: skip
        return PipelineOutput(
            images=self._output(z, args.output_type), latents=z, class_labels=labels, seeds=seeds,
            timesteps=timesteps.tolist(), num_inference_steps_run=len(timesteps), intermediates=inter,
        )  # fmt: skip

    def img2img(
        self,
        image: Any,
        strength: float = 0.6,
        class_labels: Sequence[int | None] | int | None = None,
        num_inference_steps: int = 50,
        guidance_scale: float | None = None,
        sampler: str | None = None,
        eta: float = 0.0,
        seed: int = 0,
        output_type: str = "np",
        *,
        method: str = "sdedit",
        source_class_labels: Sequence[int | None] | int | None = None,
        timestep_spacing: str = "trailing",
        callback: Callable[[StepInfo], None] | None = None,
        on_preview: PreviewCallback | None = None,
        return_intermediates: bool = False,
    ) -> PipelineOutput:
        """Edit an image: noise its latent to a level set by ``strength`` and denoise it towards ``class_labels``.

        Runs exactly ``int(num_inference_steps * strength)`` steps, the last ones of the full schedule.
        ``method="sdedit"`` (Meng et al. 2022) noises with fresh Gaussian noise (strength 1.0 starts from pure noise,
        so it equals ``__call__`` with the same seed); ``method="inversion"`` instead runs DDIM inversion of the latent
        under ``source_class_labels`` (unconditional by default) up to that level, then samples with the target class,
        so the edit keeps more of the layout.
        """
        args = self.check_args(num_inference_steps, guidance_scale, sampler, eta, output_type, timestep_spacing)
        check_number("strength", strength, 0.0, 1.0, lo_open=True)
        check_choice("method", method, EDIT_METHODS)
        labels = self._labels(class_labels)
        seeds = check_seeds(seed, len(labels))
        n_run = int(args.num_inference_steps * strength)
        if n_run < 1:
            raise ValueError(
                f"strength {strength} x {num_inference_steps} steps runs no step: int(steps * strength) must be >= 1"
            )
        z0 = self.encode(imx.to_model_tensor(self._image(image)).expand(len(labels), -1, -1, -1))
        gens = generators_for(seeds)
        timesteps = args.timesteps()[args.num_inference_steps - n_run :]
        noise = randn(tuple(z0.shape), gens)
        if method == "sdedit":
            x = noise if strength == 1.0 else self.schedule.q_sample(z0, int(timesteps[0]), noise)
        else:
            n = len(labels)
            x = self._invert(
                z0, timesteps, [-1] * n if source_class_labels is None else self._labels(source_class_labels, n)
            )
        z, inter = self._sample(args, x, labels, gens, timesteps, callback=callback, on_preview=on_preview,
                                return_intermediates=return_intermediates)  # fmt: skip
        return PipelineOutput(
            images=self._output(z, args.output_type), latents=z, class_labels=labels, seeds=seeds,
            timesteps=timesteps.tolist(), num_inference_steps_run=n_run, intermediates=inter,
            extras={"source_latents": z0},
        )  # fmt: skip

    @torch.inference_mode()
    def _invert(self, z0: Tensor, timesteps: Tensor, labels: Sequence[int], guidance_scale: float = 1.0) -> Tensor:
        return ddim_invert(self._denoiser(self.class_embeddings(labels), guidance_scale), z0, self.schedule, timesteps)

    def invert(
        self,
        image: Any,
        class_labels: Sequence[int | None] | int | None = None,
        num_inference_steps: int = 50,
        *,
        timestep_spacing: str = "trailing",
    ) -> Tensor:
        """DDIM inversion x_0 -> x_T of an image (guidance 1). Pass the result as ``latents=`` to regenerate it."""
        args = self.check_args(num_inference_steps, 1.0, timestep_spacing=timestep_spacing)
        labels = self._labels(class_labels)
        img = imx.to_model_tensor(self._image(image)).expand(len(labels), -1, -1, -1)
        return self._invert(self.encode(img), args.timesteps(), labels)

    def latent_mask(self, mask: np.ndarray) -> Tensor:
        """Pixel mask [H, W] (1 = repaint) -> latent mask [1, 1, h, w]: a latent cell is repainted if any pixel is."""
        m = torch.from_numpy(mask)[None, None]
        return torch.nn.functional.adaptive_max_pool2d(m, self.latent_shape[1:])

    def inpaint(
        self,
        image: Any,
        mask: Any,
        class_labels: Sequence[int | None] | int | None = None,
        num_inference_steps: int = 50,
        guidance_scale: float | None = None,
        sampler: str | None = None,
        eta: float = 0.0,
        seed: int = 0,
        output_type: str = "np",
        *,
        method: str = "blend",
        mask_blur: int = 2,
        jump_length: int = 10,
        jump_n_sample: int = 10,
        timestep_spacing: str = "trailing",
        callback: Callable[[StepInfo], None] | None = None,
        on_preview: PreviewCallback | None = None,
        return_intermediates: bool = False,
    ) -> PipelineOutput:
        """Repaint the masked part (mask 1 = repaint, 0 = keep) of an image.

        ``method="blend"``: after every sampler step the known region is replaced by the original latent noised to
        that step's level (latent blending, as in LDM / Blended Latent Diffusion). ``method="repaint"``: RePaint's
        resampling with ``jump_length`` and ``jump_n_sample`` (DDPM steps; ``sampler`` is not used). Finally the kept
        pixels are pasted back through the mask blurred by ``mask_blur`` pixels, so pixels farther than that from the
        mask are returned unchanged.
        """
        args = self.check_args(num_inference_steps, guidance_scale, sampler, eta, output_type, timestep_spacing)
        check_choice("method", method, INPAINT_METHODS)
        check_number("mask_blur", mask_blur, 0, 16, integer=True)
        check_number("jump_length", jump_length, 1, self.num_train_timesteps, integer=True)
        check_number("jump_n_sample", jump_n_sample, 1, 20, integer=True)
        labels = self._labels(class_labels)
        seeds = check_seeds(seed, len(labels))
        raw = imx.to_float_array(image, "image")
        img = self._fit(raw)  # [H, W, C] in [0, 1], model size (converted once, above)
        m = self._mask(mask, raw.shape[:2])  # [H, W] in {0, 1}
        if m.sum() == 0:
            raise ValueError("mask is empty: paint the region to repaint (mask 1 = repaint, 0 = keep)")
        z0 = self.encode(imx.to_model_tensor(img).expand(len(labels), -1, -1, -1))
        m_lat = self.latent_mask(m).to(self.device)  # [1, 1, h, w]
        gens = generators_for(seeds)
        noise = randn(tuple(z0.shape), gens)

        def keep_known(i: int, t_prev: int, x: Tensor) -> Tensor:
            known = self.schedule.q_sample(z0, t_prev, noise) if t_prev >= 0 else z0
            return m_lat * x + (1.0 - m_lat) * known

        job_fields: dict[str, Any] = {"step_hook": keep_known}
        if method == "repaint":
            job_fields = {"sampler": REPAINT, "sampler_options": (("jump_length", int(jump_length)),
                          ("jump_n_sample", int(jump_n_sample))),
                          "sampler_rows": {"known": z0, "mask": m_lat.expand(len(labels), -1, -1, -1)}}  # fmt: skip
        z, inter = self._sample(args, noise, labels, gens, args.timesteps(), callback=callback, on_preview=on_preview,
                                return_intermediates=return_intermediates, **job_fields)  # fmt: skip
        blurred = imx.blur_mask(torch.from_numpy(m)[None, None], mask_blur)[0, 0, :, :, None]  # [H, W, 1]
        out = (blurred * torch.from_numpy(self.decode(z)) + (1.0 - blurred) * torch.from_numpy(img)[None]).numpy()
        out = np.where(blurred.numpy() == 0.0, img[None], out.astype(np.float32))  # kept pixels exactly as given
        images: Any = imx.to_pil(out) if args.output_type == "pil" else (z if args.output_type == "latent" else out)
        return PipelineOutput(
            images=images, latents=z, class_labels=labels, seeds=seeds, timesteps=args.timesteps().tolist(),
            num_inference_steps_run=args.num_inference_steps, intermediates=inter,
            extras={"latent_mask": m_lat[0, 0].cpu().numpy(), "mask": m, "blurred_mask": blurred[..., 0].numpy()},
        )  # fmt: skip

    def interpolate(
        self,
        seed_a: int = 0,
        seed_b: int = 1,
        weights: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
        class_labels: Sequence[int | None] | int | None = None,
        method: str = "slerp",
        num_inference_steps: int = 50,
        guidance_scale: float | None = None,
        sampler: str | None = None,
        eta: float = 0.0,
        output_type: str = "np",
        *,
        class_labels_b: Sequence[int | None] | int | None = None,
        timestep_spacing: str = "trailing",
        callback: Callable[[StepInfo], None] | None = None,
        on_preview: PreviewCallback | None = None,
    ) -> PipelineOutput:
        """Images along a path between the noise of ``seed_a`` and of ``seed_b``, one per weight in [0, 1].

        ``method`` is ``slerp`` (keeps the noise on the Gaussian shell) or ``lerp``. With ``class_labels_b`` the class
        embedding moves from ``class_labels`` to it by the same weight. Weight 0 gives the image of
        ``pipe(seed=seed_a)`` and weight 1 that of ``pipe(seed=seed_b)`` (same class and settings); stochastic samplers
        continue with seed_a's generator below weight 0.5 and seed_b's from 0.5 on.
        """
        args = self.check_args(num_inference_steps, guidance_scale, sampler, eta, output_type, timestep_spacing)
        (seed_a,), (seed_b,) = check_seeds(seed_a, 1), check_seeds(seed_b, 1, "seed_b")
        check_choice("method", method, INTERPOLATION_METHODS)
        ws = [float(w) for w in (weights if isinstance(weights, Sequence) else [weights])]
        if not 1 <= len(ws) <= MAX_BATCH:
            raise ValueError(f"need 1..{MAX_BATCH} weights, got {len(ws)}")
        for w in ws:
            check_number("interpolation weight", w, 0.0, 1.0)
        label_a = self._labels(class_labels)
        label_b = self._labels(class_labels_b) if class_labels_b is not None else label_a
        if len(label_a) != 1 or len(label_b) != 1:
            raise ValueError("interpolate takes one class label (and optionally one class_labels_b)")
        mix = slerp if method == "slerp" else lerp
        seeds = [seed_a if w < 0.5 else seed_b for w in ws]
        gens = generators_for(seeds)
        noise_a, noise_b = self.initial_noise([seed_a]), self.initial_noise([seed_b])
        for g in gens:  # advance past the x_T draw, as in __call__
            randn((1, *self.latent_shape), [g])
        x = torch.cat([mix(noise_a, noise_b, w) for w in ws])
        emb_a, emb_b = self.class_embeddings(label_a), self.class_embeddings(label_b)
        emb = torch.cat([lerp(emb_a, emb_b, w) for w in ws])
        timesteps = args.timesteps()
        z, _ = self._sample(args, x, emb, gens, timesteps, callback=callback, on_preview=on_preview)
        return PipelineOutput(
            images=self._output(z, args.output_type), latents=z,
            class_labels=[label_a[0] if w < 0.5 else label_b[0] for w in ws], seeds=seeds,
            timesteps=timesteps.tolist(), num_inference_steps_run=len(timesteps), extras={"weights": ws},
        )  # fmt: skip

    def add_noise(self, image: Any, timesteps: Sequence[int], seed: int = 0) -> dict[str, Any]:
        """The forward process on one image, for teaching: z_t = q_sample(z_0, t, ε) for each t, and its decoding.

        Returns ``{"timesteps", "latents" [K, c, h, w], "images" [K, H, W, C], "alpha_bar" [K]}``; one ε for all t.
        """
        ts = [int(t) for t in timesteps]
        for t in ts:
            check_number("timestep", t, 0, self.num_train_timesteps - 1, integer=True)
        z0 = self.encode(imx.to_model_tensor(self._image(image)))
        eps = randn(tuple(z0.shape), generators_for(check_seeds(seed, 1)))
        zt = torch.cat([self.schedule.q_sample(z0, t, eps) for t in ts])
        return {
            "timesteps": ts,
            "latents": zt,
            "images": self.decode(zt),
            "alpha_bar": [float(self.schedule.alphas_cumprod[t]) for t in ts],
        }
