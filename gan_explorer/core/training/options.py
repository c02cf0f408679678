"""Training options: one frozen dataclass, saved as options.json in the run directory."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field

from gan_explorer.core.errors import ConfigError, quote, shorten

FAMILIES = ("gan", "dcgan", "wgan-gp", "stylegan", "pggan", "vae", "autoencoder", "cyclegan")
AUGMENTS = ("auto", "none", "ada", "diffaugment")
# What the model file of each objective holds (WGAN-GP is an objective on the DCGAN architecture).
MODEL_FAMILY = {"wgan-gp": "dcgan"}
# Objectives whose model takes a condition c (--condition): the GAN's MLP, the autoencoder,
# CycleGAN and PGGAN have none.
CONDITIONAL_FAMILIES = ("dcgan", "wgan-gp", "stylegan", "vae")
MAX_RESOLUTION = 4096  # no family trains beyond 1024 px; 20000 is a typo that would take gigabytes
INT_LIMITS = {"seed": (0, 2**32 - 1), "batch": (0, 65536), "workers": (0, 256), "snapshot_ticks": (1, 10**6),
              "resolution": (0, MAX_RESOLUTION), "n_critic": (1, 1000), "pool_size": (0, 10**5),
              "nan_patience": (1, 10**6), "max_rollbacks": (0, 1000), "metrics_num": (2, 50_000),
              "start_resolution": (4, MAX_RESOLUTION)}
# Options that may change when a run is resumed; anything else must match options.json.
RESUMABLE_CHANGES = ("kimg", "device", "workers", "tick_kimg", "snapshot_ticks", "progress",
                     "metrics", "metrics_num")


@dataclass(frozen=True)
class TrainingOptions:
    family: str                          # gan, dcgan, wgan-gp, stylegan, pggan, vae, autoencoder, cyclegan
    data: str                            # folder, .zip, faces:64, digits, lfw_subset
    data_b: str | None = None            # second domain (CycleGAN only)
    resolution: int = 0                  # 0: N of faces:N, else the family default (folders are resized)
    channels: int = 3                    # 3 RGB, 1 grayscale
    kimg: float = 0.0                    # training length in thousands of real images; 0: family default
    batch: int = 0                       # global batch size (split over processes); 0: family default
    lr: float = 0.0                      # learning rate; 0: family default
    augment: str = "auto"                # auto, none, ada (StyleGAN), diffaugment
    ada_target: float = 0.6              # ADA: target value of r_t = E[sign(D(real))]
    device: str = "auto"                 # auto, cpu, cuda, mps
    precision: str = "auto"              # auto (bf16 autocast on CUDA), fp32, bf16
    seed: int = 0                        # seeds weights, data order and noise
    workers: int = 2                     # DataLoader worker processes
    tick_kimg: float = 0.0               # a stats line every this many kimg; 0: automatic
    snapshot_ticks: int = 5              # snapshot (model + samples) every this many ticks
    hflip: bool = False                  # random horizontal flips of real images
    model: dict = field(default_factory=dict)  # model config overrides, e.g. {"channel_max": 128}
    # Objective-specific knobs (0 / None: the family default).
    r1_gamma: float = 0.0                # StyleGAN: R1 weight; 0: NVIDIA's heuristic 0.0002 * res^2 / batch
    pl_weight: float = 2.0               # StyleGAN: path-length regularisation weight
    style_mixing_prob: float = 0.9       # StyleGAN: mixing regularisation probability
    ema_kimg: float = 0.0                # StyleGAN: G EMA half-life in kimg; 0: batch * 10 / 32
    ema_rampup: float = 0.05             # StyleGAN: EMA ramp-up (fraction of images seen)
    n_critic: int = 5                    # WGAN-GP: critic steps per generator step
    gp_lambda: float = 10.0              # WGAN-GP: gradient-penalty weight
    beta: float = 1.0                    # VAE: KL weight
    ae_loss: str = "l2"                  # autoencoder: l1 or l2
    cycle_lambda: float = 10.0           # CycleGAN: cycle-consistency weight
    identity_lambda: float = 0.5         # CycleGAN: identity weight (times cycle_lambda)
    pool_size: int = 50                  # CycleGAN: image history pool
    perceptual_weight: float = 0.0       # CycleGAN: perceptual loss weight (0: off, the paper's objective)
    perceptual_layers: str = "1,2,3"     # CycleGAN: feature maps compared (1 = finest)
    perceptual_target: str = "cycle"     # CycleGAN: compare F(G(x)) with x ('cycle') or G(x) with x ('translation')
    perceptual_network: str = "discriminator"  # CycleGAN: whose features: 'discriminator' or 'features' (metrics net)
    start_resolution: int = 8            # PGGAN: the resolution training starts at (then doubles)
    phase_kimg: float = 0.0              # PGGAN: kimg at each resolution once faded in; 0: family default
    fade_kimg: float = 0.0               # PGGAN: kimg of each fade-in (alpha 0 -> 1); 0: family default
    condition: str = ""                  # "": unconditional; "class": labels from sub-folders;
                                         # "factors:glasses,smile": procedural-face factors (faces data)
    nan_patience: int = 8                # consecutive non-finite steps before rolling back
    max_rollbacks: int = 3               # rollbacks (each halving the lr) before giving up
    metrics: tuple = ()                  # quality metrics at each snapshot (fd, kid, pr, ppl, nn; core/metrics)
    metrics_num: int = 2000              # generated samples per snapshot evaluation
    progress: bool = True                # tqdm progress in the terminal

    def validate(self):
        self._check_numbers()
        if self.family not in FAMILIES:
            raise ConfigError(f"--family {self.family!r}: must be one of {', '.join(FAMILIES)}")
        if self.augment not in AUGMENTS:
            raise ConfigError(f"--augment {self.augment!r}: must be one of {', '.join(AUGMENTS)}")
        if self.augment == "ada" and self.family != "stylegan":
            raise ConfigError("--augment ada is for stylegan; use diffaugment for the other families")
        if self.family == "cyclegan" and not self.data_b:
            raise ConfigError("cyclegan needs two datasets: --data A --data-b B")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ConfigError(f"--precision {self.precision!r}: must be auto, fp32 or bf16")
        if self.ae_loss not in ("l1", "l2"):
            raise ConfigError(f"--ae-loss {self.ae_loss!r}: must be l1 or l2")
        for name in ("kimg", "batch", "lr", "tick_kimg", "resolution", "workers"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name.replace('_', '-')} {getattr(self, name)}: must not be negative")
        if self.channels not in (1, 3):
            raise ConfigError(f"--channels {self.channels}: must be 1 or 3")
        for spec in (self.data, self.data_b):
            check_data_spec(spec)
        if not isinstance(self.model, dict) or not all(isinstance(k, str) for k in self.model):
            raise ConfigError(f"model options {shorten(self.model)}: must be KEY=VALUE pairs")
        self._check_condition()

    def _check_condition(self):
        """--condition: its form, a family whose model takes c, data that can give it; the model's
        c_* fields come from the data, never from --model-option."""
        from gan_explorer.core.data.conditions import parse_condition_spec

        if not isinstance(self.condition, str):
            raise ConfigError(f"--condition {shorten(self.condition)}: must be text")
        kind, _ = parse_condition_spec(self.condition)
        given = sorted(k for k in self.model if k in ("c_dim", "c_kind", "c_names"))
        if given:
            raise ConfigError(f"--model-option {given[0]}: the condition comes from the data; use --condition")
        if not kind:
            return
        if self.family not in CONDITIONAL_FAMILIES:
            raise ConfigError(f"--condition {quote(self.condition, 60)}: the {self.family} family trains "
                              f"unconditionally; conditional families: {', '.join(CONDITIONAL_FAMILIES)}")
        faces = self.data == "faces" or self.data.startswith("faces:")
        if kind == "factors" and not faces:
            raise ConfigError(f"--condition {quote(self.condition, 60)}: factors come with the procedural faces "
                              f"(--data faces:64), not {quote(self.data, 60)}")
        if kind == "class" and faces:
            raise ConfigError("--condition class: the procedural faces have no classes; condition on "
                              "factors (--condition factors:glasses) or give a folder with one sub-folder per class")

    def _check_numbers(self):
        """NaN, inf, bools where numbers go and out-of-range integers are one line naming the option
        (`--kimg nan` used to be accepted and train forever; `--seed 2**70` crashed in torch)."""
        for f in dataclasses.fields(self):
            value, flag = getattr(self, f.name), "--" + f.name.replace("_", "-")
            if f.type == "float":
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ConfigError(f"{flag} {shorten(value)}: must be a number")
                if not math.isfinite(value):
                    raise ConfigError(f"{flag} {value}: must be a finite number")
                if abs(value) > 1e12:
                    raise ConfigError(f"{flag} {shorten(value, 40)}: out of range")
            elif f.type == "int":
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ConfigError(f"{flag} {shorten(value)}: must be an integer")
                low, high = INT_LIMITS.get(f.name, (-(2**31), 2**31 - 1))
                if not low <= value <= high:
                    raise ConfigError(f"{flag} {shorten(value, 40)}: must be from {low} to {high}")

    @property
    def model_family(self) -> str:
        return MODEL_FAMILY.get(self.family, self.family)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "TrainingOptions":
        from gan_explorer.core.io.reading import parse_json_text

        data = parse_json_text(text)  # ValueError, one line, for deep nesting or invalid JSON
        if not isinstance(data, dict):
            raise ValueError(f"options.json holds a JSON {type(data).__name__}, not an object")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"options.json: unknown option(s) {', '.join(unknown)}")
        return cls(**data)

    def replace(self, **changes) -> "TrainingOptions":
        return dataclasses.replace(self, **changes)

    def resolved(self) -> "TrainingOptions":
        """Fill every 0 / auto with the family default for this resolution.

        The objective's own knobs and the model config agree: a VAE's `beta` and an
        autoencoder's `loss` given as model options (--model-option beta=4) become the
        objective's --beta / --ae-loss, and the trainer writes them into the snapshot's config.
        """
        self.validate()
        knobs = {"vae": ("beta", "beta"), "autoencoder": ("loss", "ae_loss")}.get(self.family)
        if knobs and knobs[0] in self.model:
            model = dict(self.model)
            value = model.pop(knobs[0])
            default = next(f.default for f in dataclasses.fields(self) if f.name == knobs[1])
            if getattr(self, knobs[1]) not in (default, value):
                raise ConfigError(f"--model-option {knobs[0]}={shorten(value, 40)} and --{knobs[1].replace('_', '-')} "
                                  f"{getattr(self, knobs[1])} disagree; give one of them")
            return self.replace(model=model, **{knobs[1]: value}).resolved()
        resolution = self.resolution or resolution_from_spec(self.data) or DEFAULT_RESOLUTION[self.family]
        d = family_defaults(self.family, resolution)
        augment = self.augment
        if augment == "auto":
            # Augmentation keeps D from memorising a finite dataset; the procedural faces are an
            # endless stream (every index a new face), so there is nothing to memorise there.
            endless = self.data.startswith("faces:") or self.data == "faces"
            augment = "ada" if self.family == "stylegan" and not endless else "none"
        return self.replace(
            resolution=resolution, kimg=self.kimg or d["kimg"], batch=self.batch or d["batch"],
            lr=self.lr or d["lr"], augment=augment, tick_kimg=self.tick_kimg or d["tick_kimg"],
            model={**d["model"], **self.model},
        )

    def differences(self, other: "TrainingOptions") -> list[str]:
        """Names of options that differ and may not change on resume."""
        a, b = dataclasses.asdict(self), dataclasses.asdict(other)
        return [k for k in a if a[k] != b[k] and k not in RESUMABLE_CHANGES]


DEFAULT_RESOLUTION = {"gan": 32, "dcgan": 64, "wgan-gp": 64, "stylegan": 64, "pggan": 64, "vae": 64,
                      "autoencoder": 64, "cyclegan": 128}


def resolution_from_spec(spec: str) -> int:
    """N of a 'faces:N' spec; 0 for anything else."""
    name, _, arg = str(spec).partition(":")
    return int(arg) if name == "faces" and arg.isdigit() else 0


def check_data_spec(spec) -> None:
    """`faces:N` must name a resolution; anything else is a path or a built-in name."""
    if spec is None:
        return
    if not isinstance(spec, str) or not spec:
        raise ConfigError(f"--data {shorten(spec)}: must be a folder, a .zip, faces:64, digits or lfw_subset")
    name, sep, arg = spec.partition(":")
    if name == "faces" and sep:
        if not (arg.isascii() and arg.isdigit()) or not 1 <= int(arg) <= MAX_RESOLUTION:
            raise ConfigError(f"--data {quote(spec, 60)}: faces:N needs a resolution in pixels, e.g. faces:64")


def family_defaults(family: str, resolution: int) -> dict:
    """Sensible defaults so a newcomer needs only --family and --data."""
    if family == "stylegan":
        # Narrower than NVIDIA's 512-wide nets below 128 px: trains on a CPU in hours, not weeks.
        small = resolution <= 64
        model = {"img_resolution": resolution, "z_dim": 256 if small else 512, "w_dim": 256 if small else 512,
                 "channel_base": 8192 if small else 16384, "channel_max": 256 if small else 512}
        return {"kimg": 2000, "batch": 32 if resolution <= 128 else 16, "lr": 0.0025, "tick_kimg": 4, "model": model}
    if family == "pggan":
        # Karras et al. 2018 at CPU scale; phase/fade kimg of 0 are resolved by the trainer.
        return {"kimg": 600, "batch": 32, "lr": 1e-3, "tick_kimg": 4, "model": {"img_resolution": resolution}}
    if family in ("gan",):
        return {"kimg": 500, "batch": 64, "lr": 2e-4, "tick_kimg": 4, "model": {"img_resolution": resolution}}
    if family == "dcgan":
        return {"kimg": 500, "batch": 64, "lr": 2e-4, "tick_kimg": 4, "model": {"img_resolution": resolution}}
    if family == "wgan-gp":
        return {"kimg": 500, "batch": 64, "lr": 1e-4, "tick_kimg": 4,
                "model": {"img_resolution": resolution, "d_norm": "layer"}}
    if family in ("vae", "autoencoder"):
        return {"kimg": 300, "batch": 64, "lr": 1e-3, "tick_kimg": 4, "model": {"img_resolution": resolution}}
    if family == "cyclegan":
        return {"kimg": 200, "batch": 1, "lr": 2e-4, "tick_kimg": 0.5, "model": {"img_resolution": resolution}}
    raise ConfigError(f"unknown family {family!r}")
