"""Functional models: a graph of layer calls from `Input`s to outputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend import tree
from engine.backend.keras_tensor import KerasTensor
from engine.layers.core.dense import Dense
from engine.layers.core.input_layer import InputLayer
from engine.layers.layer import Layer, Node
from engine.layers.merging.add import Add
from engine.models.fusion import (
    FEED_FORWARD_TYPES,
    FUSABLE_TYPES,
    can_fuse,
    can_fuse_feed_forward,
    feed_forward_call,
    fused_call,
)
from engine.models.model import Model


def _topological_nodes(outputs: list[KerasTensor]) -> list[Node]:
    """Every node between the inputs and `outputs`, each after the nodes it consumes."""
    order: list[Node] = []
    state: dict[int, int] = {}

    def visit(node: Node) -> None:
        mark = state.get(id(node))
        if mark == 2:
            return
        if mark == 1:
            raise ValueError(
                "The model's graph has a cycle; a layer cannot consume its own output."
            )
        state[id(node)] = 1
        for parent in node.parent_nodes:
            visit(parent)
        state[id(node)] = 2
        order.append(node)

    for t in outputs:
        if not isinstance(t, KerasTensor) or t._keras_history is None:
            raise ValueError(
                "Model outputs must be symbolic tensors from layer calls on engine.Input, "
                f"got {t!r}."
            )
        layer, node_index, _ = t._keras_history
        visit(layer._inbound_nodes[node_index])
    return order


def _sole_readers(nodes: list[Any], outputs: list[KerasTensor]) -> dict[int, int]:
    """`{node index: index of the one node that reads its output}` for each node with one
    output, no call keywords, whose output is no model output and is read by exactly one
    node, once: nodes whose output nothing else can see, as fusion needs."""
    readers: dict[int, list[int]] = {}
    for i, node in enumerate(nodes):
        for t in node.input_tensors:
            readers.setdefault(id(t), []).append(i)
    output_ids = {id(t) for t in outputs}
    sole = {}
    for i, node in enumerate(nodes):
        if len(node.output_tensors) != 1 or node.call_kwargs:
            continue
        out = node.output_tensors[0]
        consumers = readers.get(id(out), [])
        if id(out) not in output_ids and len(consumers) == 1:
            sole[i] = consumers[0]
    return sole


def _fusable_pairs(nodes: list[Any], sole: dict[int, int]) -> dict[int, int]:
    """`{first node index: second node index}` for the layer pairs of `fusion.FUSABLE_TYPES`
    (a Conv2D and a MaxPooling2D, an Add and a LayerNormalization) where only
    the second layer reads the first one's output (`sole`, from `_sole_readers`).

    Whether a pair really fuses is decided per call (`fusion.can_fuse`); this
    only finds pairs where nothing else can see the first layer's output.
    """
    pairs = {}
    for i, j in sole.items():
        node, second = nodes[i], nodes[j]
        if (
            (type(node.layer), type(second.layer)) in FUSABLE_TYPES
            and len(second.call_args) == 1
            and second.call_args[0] is node.output_tensors[0]
            and not second.call_kwargs
        ):
            pairs[i] = j
    return pairs


def _feed_forward_chains(nodes: list[Any], sole: dict[int, int]) -> dict[int, list[int]]:
    """`{first Dense node index: [second Dense, Add, LayerNormalization node indices]}` for
    each feed-forward chain: `Dense(x) -> Dense -> Add([x, .]) -> LayerNormalization` (the
    Add's inputs in either order) where each layer's output is read by the next alone
    (`sole`, from `_sole_readers`).

    Whether a chain really fuses is decided per call (`fusion.can_fuse_feed_forward`).
    """
    chains = {}
    for i, node in enumerate(nodes):
        if type(node.layer) is not Dense or len(node.call_args) != 1:
            continue
        x = node.call_args[0]
        chain = [i]
        for cls in FEED_FORWARD_TYPES[1:]:
            j = sole.get(chain[-1])
            if j is None or type(nodes[j].layer) is not cls or nodes[j].call_kwargs:
                break
            prev_out = nodes[chain[-1]].output_tensors[0]
            args = nodes[j].call_args
            if cls is Add:
                pair = args[0] if len(args) == 1 else None
                if not (
                    isinstance(pair, (list, tuple))
                    and len(pair) == 2
                    and {id(pair[0]), id(pair[1])} == {id(x), id(prev_out)}
                    and pair[0] is not pair[1]
                ):
                    break
            elif len(args) != 1 or args[0] is not prev_out:
                break
            chain.append(j)
        if len(chain) == len(FEED_FORWARD_TYPES):
            chains[i] = chain[1:]
    return chains


class Functional(Model):
    """A model defined by calling layers on `Input` tensors.

    Args:
        inputs: an `Input` tensor, or a list/dict of them.
        outputs: the tensors to produce, a single one or a list/dict.
        name: the model's name.

    Example:
        >>> a = engine.Input((4,)); b = engine.Input((4,))
        >>> h = engine.layers.Concatenate()([a, b])
        >>> model = engine.Model([a, b], engine.layers.Dense(1)(h))
    """

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self._init_graph(inputs, outputs)

    def _init_graph(self, inputs: Any, outputs: Any) -> None:
        if isinstance(inputs, dict) and not all(
            isinstance(v, KerasTensor) for v in inputs.values()
        ):
            raise ValueError("Model inputs must be engine.Input tensors.")
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self._inputs_flat: list[KerasTensor] = tree.flatten(inputs)
        self._outputs_flat: list[KerasTensor] = tree.flatten(outputs)
        for t in self._inputs_flat:
            if (
                not isinstance(t, KerasTensor)
                or t._keras_history is None
                or not isinstance(t._keras_history[0], InputLayer)
            ):
                raise ValueError(
                    f"Model inputs must be tensors returned by engine.Input(...), got {t!r}."
                )
        self._nodes = _topological_nodes(self._outputs_flat)
        reachable = {id(n.layer) for n in self._nodes}
        for t in self._inputs_flat:
            if id(t._keras_history[0]) not in reachable:
                self._nodes.insert(0, t._keras_history[0]._inbound_nodes[0])
        missing = [
            n.layer.name
            for n in self._nodes
            if isinstance(n.layer, InputLayer)
            and all(n.output_tensors[0] is not t for t in self._inputs_flat)
        ]
        if missing:
            raise ValueError(
                f"The outputs depend on inputs {missing} that are not in the model's inputs; "
                "pass every Input the outputs need."
            )
        layers: list[Layer] = []
        for t in self._inputs_flat:
            layers.append(t._keras_history[0])
        for node in self._nodes:
            if node.layer not in layers:
                layers.append(node.layer)
        self._functional_layers = layers
        sole = _sole_readers(self._nodes, self._outputs_flat)
        self._fusable = _fusable_pairs(self._nodes, sole)
        self._feed_forward = _feed_forward_chains(self._nodes, sole)
        for layer in layers:
            if layer not in self._tracked_layers:
                self._tracked_layers.append(layer)
        self.built = True

    # Graph access ----------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        return list(self._functional_layers)

    @property
    def input(self) -> Any:
        return self._inputs_struct

    @property
    def output(self) -> Any:
        return self._outputs_struct

    @property
    def input_shape(self) -> Any:
        shapes = [t.shape for t in self._inputs_flat]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Any:
        shapes = [t.shape for t in self._outputs_flat]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def input_names(self) -> list[str]:
        return [t._keras_history[0].name for t in self._inputs_flat]

    # Running -----------------------------------------------------------------------------
    def _standardize_inputs(self, inputs: Any) -> list[Any]:
        names = self.input_names
        if isinstance(inputs, dict):
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(
                    f"Missing inputs {missing}; the model expects inputs named {names}."
                )
            return [inputs[n] for n in names]
        flat = tree.flatten(inputs)
        if len(flat) != len(names):
            raise ValueError(
                f"Model {self.name!r} expects {len(names)} input(s) ({', '.join(names)}) but got "
                f"{len(flat)}; pass a list with one array per input."
            )
        return flat

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        values = self._standardize_inputs(inputs)
        computed: dict[int, Any] = {}
        for kt, value in zip(self._inputs_flat, values):
            self._check_input_shape(kt, value)
            computed[id(kt)] = value
        fused: set[int] = set()
        for i, node in enumerate(self._nodes):
            if isinstance(node.layer, InputLayer) or i in fused:
                continue

            def fetch(x: Any) -> Any:
                return computed[id(x)] if isinstance(x, KerasTensor) else x

            args = tree.map_structure(fetch, node.call_args)
            kwargs = tree.map_structure(fetch, node.call_kwargs)
            chain = self._feed_forward.get(i)
            if chain is not None:
                chain_layers = [node.layer, *(self._nodes[j].layer for j in chain)]
                if can_fuse_feed_forward(chain_layers, args[0]):
                    # Dense -> Dense -> Add -> LayerNormalization as one op. Nothing
                    # but the chain reads its inner outputs, so only the last is kept.
                    last = self._nodes[chain[-1]]
                    computed[id(last.output_tensors[0])] = feed_forward_call(chain_layers, args[0])
                    fused.update(chain)
                    continue
            second_index = self._fusable.get(i)
            if second_index is not None:
                second = self._nodes[second_index]
                if can_fuse(node.layer, second.layer, args[0]):
                    # Conv2D(relu) -> MaxPooling2D(2) or Add -> LayerNormalization as
                    # one op: same results, less memory traffic.
                    computed[id(second.output_tensors[0])] = fused_call(
                        node.layer, second.layer, args[0]
                    )
                    fused.add(second_index)
                    continue
            outputs = node.layer(*args, training=training, **kwargs)
            for kt, value in zip(node.output_tensors, tree.flatten(outputs)):
                computed[id(kt)] = value
        return tree.map_structure(lambda kt: computed[id(kt)], self._outputs_struct)

    def compute_output_shape(self, input_shape: Any) -> Any:
        shapes = [input_shape] if len(self._inputs_flat) == 1 else list(input_shape)
        known: dict[int, Any] = {}
        for kt, shape in zip(self._inputs_flat, shapes):
            known[id(kt)] = tuple(shape)
        for node in self._nodes:
            if isinstance(node.layer, InputLayer):
                continue
            in_shapes = [known[id(t)] for t in node.input_tensors]
            out = node.layer.compute_output_shape(
                in_shapes[0] if len(in_shapes) == 1 else in_shapes
            )
            flat_out = [out] if _is_shape(out) else list(out)
            for kt, shape in zip(node.output_tensors, flat_out):
                known[id(kt)] = tuple(shape)
        result = [known[id(t)] for t in self._outputs_flat]
        return result[0] if len(result) == 1 else result

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        shapes = [t.shape for t in tree.flatten(args[0])]
        out_shapes = self.compute_output_shape(shapes[0] if len(shapes) == 1 else shapes)
        flat = [out_shapes] if _is_shape(out_shapes) else list(out_shapes)
        specs = [KerasTensor(s, t.dtype, self.name) for s, t in zip(flat, self._outputs_flat)]
        return tree.pack_sequence_as(self._outputs_struct, specs)

    # Serialization ------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        from engine.saving.serialization import serialize_keras_object

        node_ids: dict[int, int] = {}
        layer_configs = []
        for layer in self.layers:
            inbound = []
            for node in layer._inbound_nodes:
                if node in self._nodes and not isinstance(layer, InputLayer):
                    node_ids[id(node)] = node.index

                    def ref(x: Any) -> Any:
                        if isinstance(x, KerasTensor):
                            lyr, idx, ti = x._keras_history
                            return {"__keras_tensor__": [lyr.name, idx, ti]}
                        return x

                    inbound.append(
                        {
                            "args": tree.map_structure(ref, list(node.call_args)),
                            "kwargs": tree.map_structure(ref, node.call_kwargs),
                        }
                    )
            entry = serialize_keras_object(layer)
            entry["name"] = layer.name
            entry["inbound_nodes"] = inbound
            layer_configs.append(entry)

        def tensor_ref(t: KerasTensor) -> list[Any]:
            lyr, idx, ti = t._keras_history
            return [lyr.name, idx, ti]

        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": layer_configs,
            "input_layers": tree.map_structure(tensor_ref, self._inputs_struct),
            "output_layers": tree.map_structure(tensor_ref, self._outputs_struct),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Functional:
        from engine.layers import deserialize as deserialize_layer

        created: dict[str, Layer] = {}
        node_outputs: dict[str, list[Any]] = {}
        pending = list(config["layers"])
        for entry in pending:
            layer = deserialize_layer(entry, custom_objects=custom_objects)
            created[entry["name"]] = layer
            node_outputs[entry["name"]] = []
            if isinstance(layer, InputLayer):
                node_outputs[entry["name"]].append(layer._inbound_nodes[0].outputs)

        def resolve(x: Any) -> Any:
            if isinstance(x, dict) and "__keras_tensor__" in x:
                name, idx, ti = x["__keras_tensor__"]
                outs = node_outputs[name]
                if idx >= len(outs):
                    raise KeyError(name)
                return tree.flatten(outs[idx])[ti]
            if isinstance(x, dict):
                return {k: resolve(v) for k, v in x.items()}
            if isinstance(x, list):
                return [resolve(v) for v in x]
            return x

        # Replay node creation until every node has run (shared layers may need later tensors).
        queue = [
            (entry["name"], i, node)
            for entry in pending
            for i, node in enumerate(entry["inbound_nodes"])
        ]
        progress = True
        while queue and progress:
            progress = False
            rest = []
            for name, i, node in queue:
                if len(node_outputs[name]) != i:
                    rest.append((name, i, node))
                    continue
                try:
                    args = resolve(node["args"])
                    kwargs = resolve(node["kwargs"])
                except KeyError:
                    rest.append((name, i, node))
                    continue
                node_outputs[name].append(created[name](*args, **kwargs))
                progress = True
            queue = rest
        if queue:
            raise ValueError(
                "Could not rebuild the model graph from its config: some layer inputs never appear."
            )

        def out_ref(ref: Any) -> Any:
            if isinstance(ref, list) and len(ref) == 3 and isinstance(ref[0], str):
                name, idx, ti = ref
                return tree.flatten(node_outputs[name][idx])[ti]
            if isinstance(ref, dict):
                return {k: out_ref(v) for k, v in ref.items()}
            return [out_ref(r) for r in ref]

        return cls(
            inputs=out_ref(config["input_layers"]),
            outputs=out_ref(config["output_layers"]),
            name=config.get("name"),
            trainable=config.get("trainable", True),
        )


def _is_shape(x: Any) -> bool:
    return isinstance(x, (tuple, list)) and all(
        d is None or isinstance(d, (int, np.integer)) for d in x
    )
