"""Split a fitted estimator into a skeleton (for skops) and its tensors (for safetensors), and back.

The skeleton is the estimator's object graph with every torch object replaced by a small
placeholder: tensors become :class:`TensorRef` (the data goes to a safetensors blob),
devices, dtypes, sizes and random generators become :class:`TorchValueRef`, and every
object that (transitively) holds one of them becomes an :class:`ObjectRef` naming its
class and holding its encoded state. Objects that hold no torch object are left as they
are, so skops persists the scikit-learn parts with its own trusted types. Identity is
kept: an object reachable along two paths (a skorch net's module and the estimator's
``module_``, the optimizer's parameters and the module's) is one object again on load.

skorch nets pickle their modules in ``__getstate__`` (and unpickle in ``__setstate__``);
they are taken apart through ``__dict__`` instead, and rebuilt the same way.
"""

from __future__ import annotations

import collections
import functools
import numbers
import types

import numpy as np

_ATOMS = (type(None), bool, numbers.Number, str, bytes, bytearray, type, np.ndarray, np.generic, np.dtype,
          types.FunctionType, types.BuiltinFunctionType, types.MethodType, functools.partial)


class TensorRef:
    """Placeholder of a tensor: its key in the safetensors blob and how to rebuild it."""

    def __init__(self, key, parameter, requires_grad, device, channels_last=False):
        self.key = key
        self.parameter = parameter
        self.requires_grad = requires_grad
        self.device = device
        self.channels_last = channels_last  # its memory format (the blob is contiguous)


class TorchValueRef:
    """Placeholder of a torch value: a device, dtype, size, random generator or optimizer state."""

    def __init__(self, kind, value):
        self.kind = kind
        self.value = value


class ObjectRef:
    """Placeholder of an object holding torch values: its class name and encoded state.

    ``restore`` is "setstate" (``__setstate__``, else ``__dict__``) or "dict" (``__dict__``
    only: skorch nets, whose ``__setstate__`` unpickles).
    """

    def __init__(self, cls, state, restore):
        self.cls = cls
        self.state = state
        self.restore = restore


def class_name(cls):
    """``module:qualname`` of a class (the form :class:`ObjectRef` stores)."""
    return f"{cls.__module__}:{cls.__qualname__}"


def _is_skorch_net(obj):
    try:
        from skorch import NeuralNet
    except ImportError:  # pragma: no cover - skorch is a dependency
        return False
    return isinstance(obj, NeuralNet)


class Encoder:
    """Encode an object graph; the tensors end up in ``tensors`` ({key: CPU tensor}).

    Parameters
    ----------
    include_optimizer : bool
        Keep the optimizers' state (moment estimates); otherwise it is emptied.
    include_training_data : bool
        Keep ``torch.utils.data.Dataset`` objects (they hold scans); otherwise they
        become None and their paths are listed in ``dropped``.
    """

    def __init__(self, *, include_optimizer=False, include_training_data=False):
        self.include_optimizer = include_optimizer
        self.include_training_data = include_training_data
        self.tensors = {}
        self.dropped = []
        self._memo = {}  # id -> (encoded, original): the original stays alive, so ids stay unique

    def encode(self, obj, path="estimator"):
        """The encoded form of ``obj`` (``obj`` itself when it holds no torch object)."""
        import torch

        if isinstance(obj, _ATOMS + (TensorRef, TorchValueRef, ObjectRef)):  # atoms, or encoded already
            return obj
        if id(obj) in self._memo:
            return self._memo[id(obj)][0]
        if isinstance(obj, torch.Tensor):
            encoded = self._tensor(obj, path)
        elif isinstance(obj, (torch.device, torch.dtype, torch.Size)):
            kind = type(obj).__name__.lower()
            encoded = TorchValueRef(kind, list(obj) if kind == "size" else str(obj).removeprefix("torch."))
        elif isinstance(obj, torch.Generator):
            state = self.encode(obj.get_state(), f"{path}.state")
            encoded = TorchValueRef("generator", {"device": str(obj.device), "state": state})
        elif isinstance(obj, torch.utils.data.Dataset) and not self.include_training_data:
            self.dropped.append(path)
            encoded = None
        elif isinstance(obj, (dict, list, tuple, set, frozenset)):
            encoded = self._container(obj, path)
        else:
            encoded = self._object(obj, path)
        self._memo[id(obj)] = (encoded, obj)
        return encoded

    def _tensor(self, tensor, path):
        import torch

        if type(tensor) not in (torch.Tensor, torch.nn.Parameter):
            raise TypeError(f"{path} is a {type(tensor).__name__} (a tensor subclass); only plain tensors "
                            "and parameters can be saved.")
        key = f"{len(self.tensors)}:{path}"
        self.tensors[key] = tensor.detach().to("cpu", copy=True).contiguous()
        channels_last = (tensor.ndim == 4 and not tensor.is_contiguous()
                         and tensor.is_contiguous(memory_format=torch.channels_last))
        return TensorRef(key, isinstance(tensor, torch.nn.Parameter), bool(tensor.requires_grad),
                         str(tensor.device), channels_last)

    def _container(self, obj, path):
        items = obj.items() if isinstance(obj, dict) else enumerate(obj)
        encoded = {key: self.encode(value, f"{path}[{key!r}]") for key, value in items}
        source = dict(obj.items()) if isinstance(obj, dict) else dict(enumerate(obj))
        if all(encoded[key] is source[key] for key in source):
            return obj
        if isinstance(obj, collections.defaultdict):
            return collections.defaultdict(obj.default_factory, encoded)
        if isinstance(obj, dict):
            return encoded if type(obj) is dict else type(obj)(encoded)
        values = [encoded[i] for i in range(len(obj))]
        if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a named tuple
            return type(obj)(*values)
        return type(obj)(values)

    def _object(self, obj, path):
        import torch

        if _is_skorch_net(obj):
            state, restore = dict(obj.__dict__), "dict"
        else:
            try:
                state, restore = obj.__getstate__(), "setstate"
            except Exception:  # noqa: BLE001 - not persistable here: skops says why
                return obj
            if not isinstance(state, dict):
                return obj  # slots, C types: skops' business
        if isinstance(obj, torch.optim.Optimizer):  # its state is keyed by parameters: store pairs
            pairs = list(state["state"].items()) if self.include_optimizer else []
            pairs = [[self.encode(k, f"{path}.state"), self.encode(v, f"{path}.state")] for k, v in pairs]
            state = {**state, "state": TorchValueRef("optimizer_state", pairs)}
        self._memo[id(state)] = (None, state)  # keep the (possibly new) state dict alive
        encoded = {key: self.encode(value, f"{path}.{key}") for key, value in state.items()}
        unchanged = all(encoded[key] is value for key, value in state.items())
        if unchanged and restore == "setstate" and not isinstance(obj, torch.optim.Optimizer):
            return obj
        return ObjectRef(class_name(type(obj)), encoded, restore)


class Decoder:
    """Rebuild the objects of a skeleton loaded by skops.

    Parameters
    ----------
    tensors : dict
        {key: tensor} of the safetensors blob.
    resolve : callable
        ``resolve(name)`` returns the class of an :class:`ObjectRef` name (or raises).
    map_location : str, torch.device or None
        Device of every rebuilt tensor and device value; None: where it was saved.
    """

    def __init__(self, tensors, resolve, map_location=None):
        self.tensors = tensors
        self.resolve = resolve
        self.map_location = map_location
        self._memo = {}

    def decode(self, node):
        """The object a skeleton node stands for."""
        if isinstance(node, _ATOMS):
            return node
        if id(node) in self._memo:
            return self._memo[id(node)]
        if isinstance(node, TensorRef):
            result = self._tensor(node)
        elif isinstance(node, TorchValueRef):
            result = self._value(node)
        elif isinstance(node, ObjectRef):
            return self._object(node)
        elif isinstance(node, (dict, list)):
            self._memo[id(node)] = node  # decoded in place: cycles resolve to the same object
            items = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
            for key, value in items:
                node[key] = self.decode(value)
            return node
        elif isinstance(node, tuple) and hasattr(node, "_fields"):
            result = type(node)(*(self.decode(v) for v in node))
        elif isinstance(node, (tuple, set, frozenset)):
            result = type(node)(self.decode(v) for v in node)
        else:
            result = node
        self._memo[id(node)] = result
        return result

    def _device(self, device):
        return device if self.map_location is None else str(self.map_location)

    def _tensor(self, node):
        import torch

        tensor = self.tensors[node.key].to(self._device(node.device))
        if getattr(node, "channels_last", False):  # absent from files saved before it was recorded
            tensor = tensor.contiguous(memory_format=torch.channels_last)
        if node.parameter:
            return torch.nn.Parameter(tensor, requires_grad=node.requires_grad)
        return tensor.requires_grad_(node.requires_grad) if tensor.is_floating_point() else tensor

    def _value(self, node):
        import torch

        if node.kind == "device":
            return torch.device(self._device(node.value))
        if node.kind == "dtype":
            dtype = getattr(torch, node.value, None)
            if not isinstance(dtype, torch.dtype):
                raise ValueError(f"{node.value!r} is not a torch dtype.")
            return dtype
        if node.kind == "size":
            return torch.Size(int(v) for v in node.value)
        if node.kind == "optimizer_state":
            return collections.defaultdict(dict, ((self.decode(k), self.decode(v)) for k, v in node.value))
        if node.kind == "generator":
            generator = torch.Generator(device=self._device(node.value["device"]))
            generator.set_state(self.decode(node.value["state"]))
            return generator
        raise ValueError(f"unknown torch value kind {node.kind!r}.")

    def _object(self, node):
        cls = self.resolve(node.cls)
        instance = cls.__new__(cls)
        self._memo[id(node)] = instance
        state = self.decode(node.state)
        if node.restore == "setstate" and hasattr(instance, "__setstate__"):
            instance.__setstate__(state)
        else:
            instance.__dict__.update(state)
        return instance
