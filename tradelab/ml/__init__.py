"""Machine-learning code: torch lives here and only the workers import it."""

import torch

TORCH_VERSION: str = torch.__version__


def torch_facts() -> dict[str, object]:
    """What this process's torch is: version and whether CUDA is usable."""
    return {"torch_version": TORCH_VERSION, "cuda_available": bool(torch.cuda.is_available())}
