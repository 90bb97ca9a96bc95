"""Models: `Model`, `Sequential`, the functional API and loading saved models."""

from engine.models.functional import Functional
from engine.models.model import Model
from engine.models.sequential import Sequential
from engine.saving.saving_api import clone_model, load_model, model_from_json

__all__ = ["Functional", "Model", "Sequential", "clone_model", "load_model", "model_from_json"]
