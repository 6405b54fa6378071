"""The ``symnet`` command. Exit codes: 0 success, 1 a check found the answer wrong, 2 bad usage or
bad input (one line ``symnet: error: ...`` on stderr, no traceback).

Keras/TensorFlow are imported only by the commands that read a model, so ``symnet --help`` and
``symnet --version`` stay fast.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .deep import deep_call
from .errors import InvalidInputError, SymnetError
from .files import parse_vector, write_output

__all__ = ["main"]

EXIT_OK, EXIT_WRONG, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, as SPEC asks, not usage + error
        sys.stderr.write(f"symnet: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def _sample(values: list[float] | None, net: Any) -> Any:
    if values is None:
        return None
    import numpy as np

    size = sum(math.prod(s) for s in net.input_shapes)
    if len(values) != size or len(net.input_shapes) != 1:
        raise InvalidInputError(
            f"--input: the model takes {size} number(s) for input shape(s) "
            f"{list(net.input_shapes)}, received {len(values)}")
    return np.asarray(values, dtype=np.float64).reshape(net.input_shapes[0])


class Progress:
    """One status line on stderr, rewritten in place; silent when stderr is not a terminal."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, message: str) -> None:
        if self.live:
            self.stream.write(f"\r\x1b[2Ksymnet: {message}")
            self.stream.flush()

    def done(self) -> None:
        if self.live:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()


def _report_format(args: argparse.Namespace) -> str:
    """``--format``, else the format the ``-o`` file's suffix names, else text."""
    from .network import REPORT_SUFFIXES

    fmt = args.format
    if fmt is None:
        suffix = Path(args.output).suffix.lower() if args.output not in (None, "-") else ""
        fmt = REPORT_SUFFIXES.get(suffix, "text")
    if fmt == "pdf" and args.output in (None, "-"):
        raise InvalidInputError("a PDF report needs a file: -o FILE.pdf")
    if fmt == "pdf" and getattr(args, "fragment", False):
        raise InvalidInputError("a PDF is a whole document: --fragment is for .tex, .html, "
                                ".md, .mml")
    if args.interactive and fmt != "html":
        raise InvalidInputError(f"--interactive makes an HTML page, but the format is {fmt} "
                                f"(use --format html or -o FILE.html)")
    return fmt


def _explain(args: argparse.Namespace) -> int:
    from .network import explain
    from .report import render
    from .report_cli import report_options

    fmt = _report_format(args)
    options = report_options(args)
    progress = Progress()
    progress(f"reading {args.model}")
    net = explain(args.model, reader=args.reader)
    progress(f"writing the {fmt} report of {net.param_count:,} parameters")
    x = _sample(args.input, net)
    if fmt == "pdf":
        from .pdf import latex_to_pdf

        latex_to_pdf(render(net, "latex", x, target=args.target, domain=args.domain,
                            output=args.output_index, **options), Path(args.output))
        progress.done()
        return EXIT_OK
    text = render(net, fmt, x, target=args.target, domain=args.domain,
                  output=args.output_index, interactive=args.interactive, **options)
    progress.done()
    write_output(text, args.output)
    return EXIT_OK


def _why(args: argparse.Namespace) -> int:
    import json

    from .network import explain
    from .report import strict_json
    from .report.model import is_classifier, predicted_output

    net = explain(args.model, reader=args.reader)
    x = _sample(args.input, net)
    output, note = args.output_index, ""
    if output is None:
        output = predicted_output(net, net.evaluate(x))
        if is_classifier(net):
            size = int(sum(math.prod(s) for s in net.output_shapes))
            note = (f"output {output} of {size}: the predicted class (the largest); "
                    f"--output-index K explains another\n")
    explanation = net.why(x, target=args.target, output=output, domain=args.domain)
    key = None
    if Path(args.model).with_name("exercise.json").is_file():  # (homework's import: 0.15 s)
        from .homework.key import find_key

        key = find_key(args.model)
    if key is not None and args.format != "json":  # an exercise: its sheet's notation
        from .homework.notation import why_in_notation

        explanation = why_in_notation(explanation, net, key.notation)
    if args.format == "json":
        text = json.dumps(strict_json({**explanation.to_dict(), "output_index": output}),
                          indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    else:
        text = note + explanation.summary()
    write_output(text, args.output)
    return EXIT_OK



def _check(args: argparse.Namespace) -> int:
    import json

    from .homework import check
    from .network import explain

    chosen = [o for o, v in (("--answer", args.answer), ("--steps", args.steps),
                             ("--formula", args.formula), ("--answers", args.answers),
                             ("--gradients", args.gradients), ("--updated", args.updated))
              if v is not None]
    if not chosen:
        raise InvalidInputError("check needs one of --answer, --steps, --formula, --answers, "
                                "--gradients or --updated")
    if len(chosen) > 1 and set(chosen) != {"--gradients", "--updated"}:
        raise InvalidInputError(f"give one of {' and '.join(chosen)} (--gradients and "
                                "--updated go together)")
    net = explain(args.model, reader=args.reader)
    if args.answers is not None:
        return _grade(net, args)
    if args.input is None and args.formula is None:
        raise InvalidInputError("check needs --input X (or --answers FILE.csv, or --formula)")
    steps = None if args.steps is None else _json_file(args.steps, "steps")
    if args.format == "csv":
        raise InvalidInputError("--format csv is for grading a class (--answers FILE.csv)")
    backprop = args.gradients is not None or args.updated is not None
    if not backprop and (args.target is not None or args.loss is not None
                         or args.learning_rate is not None):
        raise InvalidInputError("--target, --loss and --learning-rate go with --gradients "
                                "FILE.json or --updated FILE.json")
    from .gradient_cli import optimizer_options

    if args.updated is None and (args.optimizer != "sgd" or optimizer_options(args)):
        raise InvalidInputError("--optimizer, --momentum and --nesterov go with --updated "
                                "FILE.json")
    if backprop:
        key = _exercise_key(args)
        if (args.target is None or args.loss is None) and getattr(key, "kind", "") != "backprop":
            raise InvalidInputError("--gradients and --updated need --target T and --loss L "
                                    "(a backprop exercise's key has them)")
        verdict = check(
            net, _sample(args.input, net), target=args.target, loss=args.loss,
            gradients=None if args.gradients is None else _json_file(args.gradients,
                                                                     "gradients"),
            updated=None if args.updated is None else _json_file(args.updated, "updated"),
            learning_rate=args.learning_rate, digits=args.digits, rtol=args.rtol,
            atol=args.atol, close=args.close, key=key, interface="cli",
            optimizer=args.optimizer, optimizer_options=optimizer_options(args))
    else:
        verdict = check(net, _sample(args.input, net), answer=args.answer, steps=steps,
                        formula=args.formula, domain=args.domain, digits=args.digits,
                        rtol=args.rtol, atol=args.atol, close=args.close,
                        key=_exercise_key(args), interface="cli")
    text = (json.dumps(verdict.to_dict(), indent=2, ensure_ascii=False) + "\n"
            if args.format == "json" else verdict.summary())
    write_output(text, args.output)
    return EXIT_OK if verdict.correct else EXIT_WRONG


def _json_file(path: str, what: str) -> str:
    """A JSON file's text (``--steps``, ``--gradients``, ``--updated``)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot read {what} file {path!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"{what} file {path!r} is not UTF-8 text (JSON is UTF-8)"
                                ) from None


def _exercise_key(args: argparse.Namespace) -> Any:
    """The exercise's key: ``--key FILE``, else ``exercise.json`` beside the model when it was
    written for this very model file."""
    from .homework.key import find_key, load_key

    if args.key is not None:
        return load_key(args.key)
    return find_key(args.model)


def _grade(net: Any, args: argparse.Namespace) -> int:
    from .homework import Policy
    from .homework.grade import grade_file, render_grades

    rows = grade_file(net, args.answers, Policy(args.digits, args.rtol, args.atol, args.close),
                      key=_exercise_key(args), decimal_comma=args.decimal_comma or None)
    write_output(render_grades(rows, args.format), args.output)
    return EXIT_OK if all(r.correct for r in rows) else EXIT_WRONG


def _exercise(args: argparse.Namespace) -> int:
    from .homework.exercise import make_exercise, read_roster, write_exercise

    students = read_roster(args.students) if args.students else None
    folder = Path(args.output or f"exercise-{args.seed}")
    options = dict(pdf=args.pdf, multiple_choice=args.multiple_choice, moodle=args.moodle,
                   qti=args.qti, decimal_comma=args.decimal_comma)
    if args.model is not None:
        from .homework.model import build_model_exercise, parse_values

        if args.layers is not None or args.kind != "dense" or args.activation or args.loss:
            raise InvalidInputError("--model sets the network: --layers, --kind, "
                                    "--activation and --loss are for the drawn exercises")
        if args.pdf:
            from .report.pdf import require_engine

            require_engine()
        values = parse_values(args.inputs) if args.inputs is not None else tuple(
            float(v) for v in range(-3, 4))
        exercise = build_model_exercise(args.model, values, students, args.digits, args.seed)
        written = write_exercise(exercise, folder, **options)  # type: ignore[arg-type]
    else:
        if args.kind != "dense" and (args.layers is not None or args.inputs is not None):
            raise InvalidInputError(f"--layers and --inputs shape a dense exercise; a "
                                    f"{args.kind} exercise has a fixed shape")
        if args.kind != "backprop" and (args.activation or args.loss):
            raise InvalidInputError("--activation and --loss set a backprop exercise "
                                    "(--kind backprop)")
        if args.kind == "backprop":
            options["backprop"] = {k: v for k, v in (("activation", args.activation),
                                                     ("loss", args.loss)) if v}
        widths = parse_vector(args.layers or "3", "--layers")
        if any(w != int(w) for w in widths):
            raise InvalidInputError(f"--layers: whole numbers of units, received "
                                    f"{args.layers!r}")
        inputs = 2
        if args.inputs is not None:
            if not re.fullmatch(r"[0-9]{1,2}", args.inputs.strip()):
                raise InvalidInputError(f"--inputs: the number of input features of a dense "
                                        f"exercise (with --model: the values to draw inputs "
                                        f"from), received {args.inputs!r}")
            inputs = int(args.inputs)
        written = make_exercise(args.seed, folder, [int(w) for w in widths], inputs,
                                students=students, digits=args.digits, kind=args.kind,
                                **options)  # type: ignore[arg-type]
    for path in written:
        sys.stderr.write(f"wrote {path}\n")
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from .demo import write_demo

    for path in write_demo(Path(args.output)):
        sys.stderr.write(f"wrote {path}\n")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from .report_cli import add_report_options

    parser = _Parser(prog="symnet", description="A trained Keras network as mathematics: "
                     "each layer's exact formula, the whole network's, and its numbers.")
    parser.add_argument("--version", action="version", version=f"symnet {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    explain = commands.add_parser("explain", help="each layer's formula and the whole network's",
                                  description="Print the formulas of a model (.keras or .h5).")
    explain.add_argument("model", metavar="MODEL", help="a .keras or .h5 file")
    _reader_arg(explain)
    explain.add_argument("--input", type=_vector_arg, metavar="X",
                         help="an input sample: a number or comma-separated numbers")
    explain.add_argument("--format", choices=("latex", "pdf", "mathml", "html", "markdown",
                                              "json", "text"), default=None,
                         help="output format (default: from the -o file's suffix, .tex .pdf "
                              ".mml .html .md .json .txt; else text)")
    explain.add_argument("--interactive", action="store_true",
                         help="HTML: add the explorer (move the input, watch every layer)")
    explain.add_argument("--target", metavar="FORMULA",
                         help='with --input: what the network should compute, e.g. "2*x + 5"')
    explain.add_argument("--domain", type=_domain_arg, metavar="A,B",
                         help="the input interval: units dead on it are removed in the "
                              "simplification; with --input, the explanation looks at it")
    explain.add_argument("--output-index", type=int, default=None, metavar="K",
                         help="with --input: the output 'why' explains (default: a "
                              "classifier's predicted class, else 0)")
    add_report_options(explain)
    explain.add_argument("-o", "--output", metavar="FILE", help="write here (default or -: stdout)")
    explain.set_defaults(run=_explain)

    why = commands.add_parser("why", help="why an output has its value at an input",
                              description="Explain one output at one input: active units, "
                              "contributions, the local law and where it holds, the error "
                              "against a target.")
    why.add_argument("model", metavar="MODEL", help="a .keras or .h5 file")
    _reader_arg(why)
    why.add_argument("--input", type=_vector_arg, metavar="X", required=True,
                     help="the input sample: a number or comma-separated numbers")
    why.add_argument("--target", metavar="FORMULA",
                     help='what the network should compute, e.g. "2*x + 5"')
    why.add_argument("--domain", type=_domain_arg, metavar="A,B",
                     help="input interval for dead units and the largest target error")
    why.add_argument("--output-index", type=int, default=None, metavar="K",
                     help="which output to explain (default: a classifier's predicted class, "
                          "else 0)")
    why.add_argument("--format", choices=("text", "json"), default="text",
                     help="output format (default: text)")
    why.add_argument("-o", "--output", metavar="FILE", help="write here (default or -: stdout)")
    why.set_defaults(run=_why)

    check = commands.add_parser(
        "check", help="check a hand calculation (exit 0 right, 1 wrong)",
        description="Check an answer, per-layer steps or a formula against the network; exit "
        "status 0 if correct, 1 if wrong, 2 for bad input.")
    check.add_argument("model", metavar="MODEL", help="a .keras or .h5 file")
    _reader_arg(check)
    check.add_argument("--input", type=_vector_arg, metavar="X",
                       help="the input sample: a number or comma-separated numbers")
    given = check.add_mutually_exclusive_group()
    given.add_argument("--answer", metavar="V", help="the number(s) computed, e.g. 24.6 or 0.2,0.8")
    given.add_argument("--steps", metavar="FILE.json",
                       help='a JSON file {"layer name": [values...], ...}')
    given.add_argument("--formula", metavar="FORMULA", help='a formula such as "2*x + 5"')
    given.add_argument("--answers", metavar="FILE.csv",
                       help="grade a class: a CSV with columns student, input, answer")
    given.add_argument("--gradients", metavar="FILE.json",
                       help='backpropagation by hand: {"loss": L, "layer": [its delta], '
                       '"layer/kernel": [[its gradient]], ...} (with --target and --loss)')
    check.add_argument("--updated", metavar="FILE.json",
                       help='one step of gradient descent by hand: {"layer/kernel": [[the '
                       'weight after the step]], ...} (with --learning-rate)')
    check.add_argument("--target", type=_vector_arg, metavar="T",
                       help="--gradients/--updated: the input's target (one number per output)")
    check.add_argument("--loss", metavar="L",
                       help='--gradients/--updated: a Keras loss (mse, ...) or a formula of y '
                       'and t, e.g. "(t - y)^2/2"')
    check.add_argument("--learning-rate", type=_rate_arg, metavar="R",
                       help="--updated: the step size of w - R dL/dw")
    from .gradient_cli import optimizer_arguments

    optimizer_arguments(check)  # --updated: the step of another optimizer than w - R dL/dw
    check.add_argument("--domain", type=_domain_arg, metavar="A,B",
                       help="interval on which a formula is compared")
    check.add_argument("--digits", type=_digits_arg, default=3, metavar="D",
                       help="significant digits an answer must show (default: 3)")
    check.add_argument("--rtol", type=_tolerance_arg, default=1e-4, metavar="R",
                       help="relative tolerance within which any answer is correct "
                       "(default: 1e-4)")
    check.add_argument("--atol", type=_tolerance_arg, default=1e-6, metavar="A",
                       help="absolute tolerance (default: 1e-6)")
    check.add_argument("--close", type=_tolerance_arg, default=0.01, metavar="R",
                       help="a wrong answer within this relative distance of the right one "
                       "is 'close' (default: 0.01, 1 %%)")
    check.add_argument("--key", metavar="FILE.json",
                       help="the exercise's key (default: exercise.json beside the model, if "
                       "written for it): the sheet's notation, its step columns, its letters")
    check.add_argument("--decimal-comma", action="store_true",
                       help="--answers: read -26,5 as -26.5 (the default for a ;-separated "
                       "CSV); the numbers of one cell are then separated by spaces")
    check.add_argument("--format", choices=("text", "json", "csv"), default="text",
                       help="output format (default: text; csv: grades of --answers, safe to "
                       "open in a spreadsheet)")
    check.add_argument("-o", "--output", metavar="FILE", help="write here (default or -: stdout)")
    check.set_defaults(run=_check)

    exercise = commands.add_parser(
        "exercise", help="make a small network to compute by hand, with its answer key",
        description="Write a random exercise (deterministic per seed): the network, a question "
        "sheet (.tex, .html) and the answer key (key.txt, steps.json).")
    exercise.add_argument("--seed", type=_seed_arg, required=True,
                          help="the exercise's number (0 or more)")
    exercise.add_argument("--kind", choices=("dense", "conv", "rnn", "backprop"),
                          default="dense",
                          help="dense: a ReLU network (default); conv: a 5×5 image, a 2×2 "
                          "filter and 2×2 max pooling; rnn: a simple RNN of 2 units over 3 "
                          "steps; backprop: the forward pass, the loss, every delta and "
                          "gradient and one step of gradient descent through a 2-2-2 network")
    exercise.add_argument("--activation", choices=("sigmoid", "relu"),
                          help="backprop: sigmoid layers (default) or a ReLU layer and a "
                          "linear output")
    exercise.add_argument("--loss", choices=("squared_error", "mse"),
                          help="backprop: E = ½ Σ (t − ŷ)² (squared_error, default) or the "
                          "mean squared error")
    exercise.add_argument("--layers", metavar="W1,W2,...",
                          help="hidden layer widths of a dense exercise (default: 3)")
    exercise.add_argument("--inputs", metavar="N | VALUES",
                          help="input features of a dense exercise (default: 2); with --model, "
                          "the values each input entry is drawn from: -3..3 (default) or "
                          "0,0.5,1")
    exercise.add_argument("--model", metavar="MODEL",
                          help="set the exercise on this network (.keras or .h5: a chain of "
                          "Dense layers, one output) instead of a drawn one")
    exercise.add_argument("--pdf", action="store_true",
                          help="also compile the sheets to PDF (needs pdflatex)")
    exercise.add_argument("--students", metavar="FILE",
                          help="a roster, one student per line: a variant (its own input) "
                          "and a sheet per student, key.csv and class.csv to grade")
    exercise.add_argument("--digits", type=_digits_arg, default=3, metavar="D",
                          help="significant digits asked for (default: 3)")
    exercise.add_argument("--multiple-choice", action="store_true",
                          help="the final part as a choice among the catalogue's wrong answers")
    exercise.add_argument("--moodle", action="store_true",
                          help="also write moodle.xml: the class set as Moodle questions")
    exercise.add_argument("--qti", action="store_true",
                          help="also write canvas-qti.zip: the class set as a Canvas quiz "
                          "(IMS QTI 1.2)")
    exercise.add_argument("--decimal-comma", action="store_true",
                          help="write class.csv for a spreadsheet that uses the decimal comma "
                          "(;-separated, the input's numbers separated by spaces)")
    exercise.add_argument("-o", "--output", metavar="DIR",
                          help="folder to write into (default: exercise-SEED)")
    exercise.set_defaults(run=_exercise)

    from .gradient_cli import add_commands

    add_commands(commands, _reader_arg, _vector_arg)  # grad, step

    demo = commands.add_parser("demo", help="write the bundled examples' reports",
                               description="Write the reports of the bundled example models.")
    demo.add_argument("-o", "--output", metavar="DIR", default="reports",
                      help="folder to write into (default: reports/)")
    demo.set_defaults(run=_demo)
    return parser


def _reader_arg(command: argparse.ArgumentParser) -> None:
    command.add_argument("--reader", choices=("auto", "file", "keras"), default="auto",
                         help="how the model file is read: auto (default): from the file "
                         "itself, without TensorFlow, when symnet's file reader knows all of it "
                         "(Sequential and functional models of the layers listed in "
                         "docs/reading.md; .keras and legacy .h5), any other with Keras; keras: "
                         "always with Keras; file: never with Keras (an error if it cannot)")


def _domain_arg(text: str) -> tuple[float, float]:
    values = _vector_arg(text)
    if len(values) != 2 or not values[0] < values[1]:
        raise argparse.ArgumentTypeError(f"--domain expects two numbers A,B with A < B, "
                                         f"received {text!r}")
    return values[0], values[1]


def _seed_arg(text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,18}", text.strip()):
        raise argparse.ArgumentTypeError(f"--seed expects a whole number from 0 to "
                                         f"999999999999999999, received {text!r}")
    return int(text)


def _digits_arg(text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,2}", text.strip()) or not 1 <= int(text) <= 17:
        raise argparse.ArgumentTypeError(f"--digits expects a whole number from 1 to 17, "
                                         f"received {text!r}")
    return int(text)


def _tolerance_arg(text: str) -> float:
    values = _vector_arg(text)
    if len(values) != 1 or not 0 <= values[0] < 1:
        raise argparse.ArgumentTypeError(f"a tolerance is one number in [0, 1), received "
                                         f"{text!r}")
    return values[0]


def _rate_arg(text: str) -> float:
    values = _vector_arg(text)
    if len(values) != 1 or not values[0] >= 0:
        raise argparse.ArgumentTypeError(f"expected one number ≥ 0, received {text!r}")
    return values[0]


def _vector_arg(text: str) -> list[float]:
    try:
        return parse_vector(text, what="")
    except InvalidInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    # The command owns its process: TensorFlow's C++ start-up logs are not for our users.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from . import io

    io.QUIET_IMPORT = True
    parser = build_parser()
    args = parser.parse_args(_negative_values(list(sys.argv[1:] if argv is None else argv),
                                              parser))
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        # on a thread with room for the recursion of SymPy over deep networks' formulas
        return int(deep_call(args.run, args))
    except SymnetError as exc:
        sys.stderr.write(f"symnet: error: {_one_line(exc)}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("symnet: error: interrupted\n")
        return 130


def _options_with_values(parser: argparse.ArgumentParser) -> tuple[set[str], set[str]]:
    """Every long option of every command that takes a value, and every option string."""
    valued, every = set(), set()
    for action in parser._actions:  # argparse keeps its actions there
        every.update(action.option_strings)
        if action.option_strings and action.nargs is None and action.const is None \
                and not isinstance(action, argparse._StoreConstAction):
            valued.update(o for o in action.option_strings if o.startswith("--"))
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                more = _options_with_values(sub)
                valued |= more[0]
                every |= more[1]
    return valued, every


_NEGATIVE = re.compile(r"-[^-]")


def _negative_values(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """``--input -2,-1,1`` as ``--input=-2,-1,1``: argparse takes a value that starts with a
    minus for an option and stops (``expected one argument``). Every long option that takes a
    value, of every command, gets the value that follows it when that value starts with one
    minus (a negative number, ``-x + 1``) and is not one of the command's options."""
    valued, every = _options_with_values(parser)
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            out += argv[i:]
            break
        if token in valued and i + 1 < len(argv) and argv[i + 1] not in every \
                and _NEGATIVE.match(argv[i + 1]):
            out.append(f"{token}={argv[i + 1]}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


if __name__ == "__main__":
    raise SystemExit(main())
