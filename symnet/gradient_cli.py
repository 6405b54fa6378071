"""``symnet grad`` and ``symnet step``: the gradient of a loss at one sample (or a few), with
the hand calculation of backpropagation, and the weights after one training step."""

from __future__ import annotations

import argparse
from typing import Any

from .errors import InvalidInputError

__all__ = ["add_commands"]


EXIT_OK = 0


def add_commands(commands: Any, reader_arg: Any, vector_arg: Any) -> None:
    """Add ``grad`` and ``step`` to the ``symnet`` command's subparsers (``reader_arg`` adds
    the command line's ``--reader``, ``vector_arg`` reads ``--input``'s numbers)."""
    _reader_arg, _vector_arg = reader_arg, vector_arg

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("model", metavar="MODEL", help="a .keras or .h5 file")
        _reader_arg(parser)
        parser.add_argument("--input", type=_vector_arg, metavar="X", required=True,
                            action="append",
                            help="an input sample: a number or comma-separated numbers "
                                 "(repeat for a batch)")
        parser.add_argument("--target", type=_vector_arg, metavar="T", required=True,
                            action="append",
                            help="its target: one number per output (a class index for "
                                 "sparse_categorical_crossentropy); repeat with --input")
        parser.add_argument("--loss", required=True, metavar="L",
                            help='a Keras loss (mse, mae, binary_crossentropy, '
                                 'categorical_crossentropy, sparse_categorical_crossentropy) '
                                 'or a formula of y and t, e.g. "(t - y)^2/2" (summed)')
        parser.add_argument("--precision", choices=("float32", "float64", "exact"),
                            default="float32", help="float32 (as TensorFlow, default), "
                            "float64, or exact rationals")
        parser.add_argument("-o", "--output", metavar="FILE",
                            help="write here (default or -: stdout)")

    grad = commands.add_parser(
        "grad", help="the gradient of a loss: every weight's, each layer's delta, dL/dx",
        description="Backpropagation at an input and its target: the loss, each layer's "
        "delta and the gradient of every weight (with their formulas and numbers, output "
        "layer first), and dL/dx, as tf.GradientTape gives them.")
    common(grad)
    grad.add_argument("--format", choices=("text", "json", "latex", "html", "markdown",
                                           "mathml"), default="text",
                      help="output format (default: text); latex, html, markdown and mathml "
                           "give backpropagation as a report")
    grad.add_argument("--sample", type=int, default=0, metavar="N",
                      help="the sample of the batch whose hand calculation is shown "
                           "(default: 0)")
    from .report_cli import add_report_options

    add_report_options(grad, paper=False)
    grad.set_defaults(run=_grad)

    step = commands.add_parser(
        "step", help="the weights after one training step (as model.train_on_batch)",
        description="One step of a Keras optimizer from fresh state on the batch given: "
        "every weight after it, as model.train_on_batch leaves it.")
    common(step)
    step.add_argument("--format", choices=("text", "json"), default="text",
                      help="output format (default: text)")
    step.add_argument("--learning-rate", type=_rate_arg, required=True, metavar="R",
                      help="the step size")
    optimizer_arguments(step)
    step.add_argument("--frozen", action="append", default=[], metavar="NAME",
                      help="a weight (layer/weight) or a layer to keep as it is (repeatable)")
    step.add_argument("--omit-random", action="store_true",
                      help="leave Dropout and noise layers out (else they are refused)")
    step.set_defaults(run=_step)


def optimizer_arguments(parser: argparse.ArgumentParser) -> None:
    """``--optimizer``, ``--momentum``, ``--nesterov`` (``step``, and ``check --updated``)."""
    parser.add_argument("--optimizer", choices=("sgd", "adam", "rmsprop"), default="sgd",
                        help="the optimizer, from fresh state (default: sgd)")
    parser.add_argument("--momentum", type=_rate_arg, default=None, metavar="M",
                        help="sgd, rmsprop: momentum (default 0)")
    parser.add_argument("--nesterov", action="store_true", help="sgd: Nesterov momentum")


def optimizer_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options ``--momentum`` and ``--nesterov`` give, refused for an optimizer that has
    none."""
    options: dict[str, Any] = {}
    if args.momentum is not None:
        if args.optimizer == "adam":
            raise InvalidInputError("--momentum is for sgd and rmsprop")
        options["momentum"] = args.momentum
    if args.nesterov:
        if args.optimizer != "sgd":
            raise InvalidInputError("--nesterov is for sgd")
        options["nesterov"] = True
    return options


def _rate_arg(text: str) -> float:
    from .files import parse_vector

    try:
        values = parse_vector(text, what="")
    except InvalidInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if len(values) != 1 or not values[0] >= 0:
        raise argparse.ArgumentTypeError(f"expected one number ≥ 0, received {text!r}")
    return values[0]


def _batch(args: argparse.Namespace, net: Any) -> tuple[Any, Any]:
    import math

    import numpy as np

    if len(args.input) != len(args.target):
        raise InvalidInputError(f"{len(args.input)} --input but {len(args.target)} --target: "
                                "give one target per input")
    size = sum(math.prod(s) for s in net.input_shapes)
    if len(net.input_shapes) != 1:
        raise InvalidInputError("grad and step on the command line take models of one input")
    rows = []
    for values in args.input:
        if len(values) != size:
            raise InvalidInputError(f"--input: the model takes {size} number(s) for input "
                                    f"shape {net.input_shapes[0]}, received {len(values)}")
        rows.append(np.asarray(values, np.float64).reshape(net.input_shapes[0]))
    x = np.stack(rows)
    targets = [np.asarray(t, np.float64) for t in args.target]
    outputs = sum(math.prod(s) for s in net.output_shapes)
    sparse = args.loss.strip() in ("sparse_categorical_crossentropy",
                                   "SparseCategoricalCrossentropy")
    want = sum(math.prod(s[:-1]) for s in net.output_shapes) if sparse else outputs
    for t in targets:
        if t.size != want:
            raise InvalidInputError(f"--target: expected {want} number(s), received {t.size}")
    if len(net.output_shapes) == 1:
        shape = net.output_shapes[0][:-1] if sparse else net.output_shapes[0]
        return x, np.stack([t.reshape(shape) for t in targets])
    parts, start = [], 0
    for s in net.output_shapes:
        n = math.prod(s[:-1] if sparse else s)
        parts.append(np.stack([t[start:start + n].reshape(s[:-1] if sparse else s)
                               for t in targets]))
        start += n
    return x, parts


def _grad(args: argparse.Namespace) -> int:
    from .files import write_output
    from .network import explain

    net = explain(args.model, reader=args.reader)
    x, t = _batch(args, net)
    if not 0 <= args.sample < len(x):
        raise InvalidInputError(f"--sample: the batch has {len(x)} sample(s), received "
                                f"{args.sample}")
    gradient = net.gradient(x, t, loss=args.loss, precision=args.precision)
    if args.format == "json":  # the backpropagation section's data alone (stable)
        text = _backprop_json(gradient, args)
    else:
        # text is for a terminal: the section alone, as before there were reports of it
        whole = not args.fragment and args.format != "text"
        text = gradient.report(args.format, sample=args.sample, standalone=whole,
                               digits=args.digits)
    write_output(text, args.output)
    return EXIT_OK


def _backprop_json(gradient: Any, args: argparse.Namespace) -> str:
    import json

    from .report import printer, strict_json
    from .report.sections import Backprop

    json_printer = printer("json", {"digits": args.digits})
    data = json_printer.backprop_data(  # type: ignore[attr-defined]
        Backprop(gradient, gradient.trace(args.sample)))
    return json.dumps(strict_json(data), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _step(args: argparse.Namespace) -> int:
    from .files import write_output
    from .gradient_format import step_json, step_text
    from .network import explain

    net = explain(args.model, reader=args.reader)
    x, t = _batch(args, net)
    options = optimizer_options(args)
    step = net.train_step(x, t, loss=args.loss, optimizer=args.optimizer,
                          learning_rate=args.learning_rate, precision=args.precision,
                          frozen=args.frozen,
                          random_layers="omit" if args.omit_random else "refuse", **options)
    before = {key: p.value for p, key in step.gradient.keys.items()}
    text = step_json(step) if args.format == "json" else step_text(step, before)
    write_output(text, args.output)
    return EXIT_OK
