"""Molecules from user input: SMILES strings and uploaded structure files.

Conventions:

* Every user-input problem raises :class:`~core.exceptions.InvalidInputError` carrying
  RDKit's own reason (e.g. ``Explicit valence for atom # 1 N, 5, is greater than
  permitted``), never a bare ``None`` or a message printed on stderr.
* RDKit writes its errors to a process-wide log. Every RDKit call here runs inside
  :func:`_quiet_rdkit`, which holds a lock, blocks RDKit's warnings and captures its error
  log, so concurrent Streamlit sessions never mix messages and nothing reaches stderr.
  The lock is also held while embedding (well under a second for drug-sized molecules),
  which briefly delays other sessions' parsing; RDKit calls made elsewhere without this
  lock may lose their warnings while it is held. :func:`embed_conformers` embeds many
  molecules on several threads (RDKit releases the GIL), taking the lock for a fraction of a
  second at a time.
* A SMILES is one token: ``"CCO ethanol"`` is rejected (RDKit would silently take
  ``ethanol`` as the molecule's name) with the first token as ``suggestion``. Leading and
  trailing whitespace is ignored.
* Mixtures and salts (several ``.``-separated fragments) are rejected unless
  ``largest_fragment=True``; "largest" means most heavy atoms, ties broken by total atom
  count, then molecular weight, then canonical SMILES (deterministic).
* Elements outside a model's domain (Si, Br, metals...) are *not* errors here; models check
  their own domain.
* Coordinates are in ångström; :func:`embed_conformer` is deterministic for a given seed.
* Structure files are read as given: several fragments in one record are kept (no
  fragment or size check), explicit hydrogens and coordinates are preserved.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import PurePath

from rdkit import Chem, rdBase
from rdkit.Chem import AllChem, Descriptors, rdDetermineBonds

from core.exceptions import InvalidInputError

SUPPORTED_FILE_TYPES = (".sdf", ".mol", ".xyz")

_RDKIT_LOCK = threading.RLock()
_TIMESTAMP = re.compile(r"^\[\d{2}:\d{2}:\d{2}\]\s?")
_LOG_NOISE = re.compile(
    r"\*+$|-+$|(Pre-condition|Post-condition|Invariant) Violation|Violation occurred|"
    r"Failed Expression|RDKIT:|BOOST:|moving to the beginning of the next molecule"
)


@contextlib.contextmanager
def _quiet_rdkit() -> Iterator[rdBase.CaptureErrorLog]:
    """Serialise RDKit calls, silence its warnings and capture its error log.

    The capture must be the inner context: RDKit's ``CaptureErrorLog`` re-enables the error
    stream that ``BlockLogs`` disabled, so errors are recorded but not printed.
    """
    with _RDKIT_LOCK, rdBase.BlockLogs(), rdBase.CaptureErrorLog() as capture:
        yield capture


def _log_lines(capture: rdBase.CaptureErrorLog) -> list[str]:
    """RDKit's logged errors, one per line, without timestamps, C++ stack traces or repeats."""
    lines: list[str] = []
    in_trace = False
    for raw in capture.messages.splitlines():
        line = _TIMESTAMP.sub("", raw).strip().removeprefix("ERROR: ")
        if line == "Stacktrace:" or (in_trace and not line.startswith("---")):
            in_trace = True
            continue
        in_trace = False
        if line and not _LOG_NOISE.match(line) and line not in lines:
            lines.append(line)
    return lines


def _smiles_reason(capture: rdBase.CaptureErrorLog) -> str:
    """Condense RDKit's multi-line SMILES parse error (drops the echo and the caret line)."""
    prefix = "SMILES Parse Error:"
    parts = [
        ln[len(prefix) :].strip().rstrip(":") for ln in _log_lines(capture) if ln.startswith(prefix)
    ]
    specific = [p for p in parts if not p.startswith("Failed parsing SMILES")]
    parts = specific or parts
    return f"{prefix} {'; '.join(parts)}" if parts else "RDKit could not parse it"


def canonical_smiles(mol: Chem.Mol) -> str:
    """RDKit canonical isomeric SMILES (hydrogens implicit)."""
    with _quiet_rdkit():
        return Chem.MolToSmiles(Chem.RemoveHs(mol))


def heavy_atom_count(mol: Chem.Mol) -> int:
    """Number of non-hydrogen atoms."""
    return mol.GetNumHeavyAtoms()


def elements(mol: Chem.Mol) -> set[str]:
    """Element symbols present, hydrogens included only if they are explicit atoms."""
    return {atom.GetSymbol() for atom in mol.GetAtoms()}


def _fragment_key(frag: Chem.Mol) -> tuple[int, int, float, str]:
    total_atoms = frag.GetNumAtoms() + sum(a.GetTotalNumHs() for a in frag.GetAtoms())
    return (frag.GetNumHeavyAtoms(), total_atoms, Descriptors.MolWt(frag), Chem.MolToSmiles(frag))


def _largest_fragment(fragments: tuple[Chem.Mol, ...]) -> Chem.Mol:
    # max() keeps the first of equal keys; the SMILES in the key makes ties impossible anyway.
    return max(fragments, key=_fragment_key)


def parse_smiles(
    text: str,
    *,
    largest_fragment: bool = False,
    max_heavy_atoms: int = 100,
    max_length: int = 1000,
) -> Chem.Mol:
    """Parse and sanitise one SMILES string.

    Args:
        text: the SMILES; surrounding whitespace is ignored, inner whitespace is an error.
        largest_fragment: return the largest fragment of a salt or mixture instead of raising.
        max_heavy_atoms: reject bigger molecules (after fragment selection).
        max_length: reject longer strings before parsing them.

    Returns:
        A sanitised molecule without explicit hydrogens.

    Raises:
        InvalidInputError: empty or non-string input, too long, text after the SMILES,
            RDKit parse or sanitisation failure (with RDKit's reason), several fragments
            (``suggestion`` = canonical SMILES of the largest), too many heavy atoms.
    """
    expected = "one SMILES string, e.g. CCO for ethanol"
    if not isinstance(text, str):
        raise InvalidInputError("SMILES must be text", got=type(text).__name__, expected=expected)
    smiles = text.strip()
    if not smiles:
        raise InvalidInputError("SMILES is empty", got=repr(text), expected=expected)
    if len(smiles) > max_length:
        raise InvalidInputError(
            f"SMILES is too long ({len(smiles)} characters, at most {max_length} allowed)",
            got=f"{smiles[:40]}...",
            expected=f"a SMILES of at most {max_length} characters",
        )
    foreign = next(((i, c) for i, c in enumerate(smiles) if not c.isascii()), None)
    if foreign is not None:  # RDKit drops some of them silently: 'CCΩ' read as ethane
        i, char = foreign
        raise InvalidInputError(
            f"SMILES {smiles!r} holds {char!r} (U+{ord(char):04X}) at position {i + 1}",
            got=repr(smiles),
            expected="SMILES characters only (ASCII letters, digits, ()[]=#@+-/\\%.)",
            fix="retype the SMILES, or paste it as plain text (copied text can carry "
            "invisible or look-alike characters)",
            entry=smiles,
        )
    tokens = smiles.split()
    if len(tokens) > 1:
        suggestion = None
        with contextlib.suppress(InvalidInputError):
            suggestion = canonical_smiles(
                parse_smiles(tokens[0], largest_fragment=largest_fragment)
            )
        raise InvalidInputError(
            f"SMILES {tokens[0]!r} is followed by other text ({' '.join(tokens[1:])!r})",
            got=repr(smiles),
            expected="a single SMILES without spaces, names or titles",
            fix=f"remove the text after {tokens[0]!r} (enter one molecule at a time)",
            entry=smiles,
            suggestion=suggestion,
        )

    with _quiet_rdkit() as capture:
        raw = Chem.MolFromSmiles(smiles, sanitize=False)
        if raw is None:
            raise InvalidInputError(
                f"invalid SMILES {smiles!r}: {_smiles_reason(capture)}",
                got=smiles,
                expected=expected,
                fix="check brackets, ring-closure digits and atom symbols",
                entry=smiles,
            )
        problems = [p.Message() for p in Chem.DetectChemistryProblems(raw)]
        mol = None if problems else Chem.MolFromSmiles(smiles)
        if mol is None:
            reason = "; ".join(problems or _log_lines(capture)) or "sanitisation failed"
            raise InvalidInputError(
                f"SMILES {smiles!r} is not a valid molecule: {reason}",
                got=smiles,
                expected="a chemically valid structure (valences, charges, aromatic rings)",
                fix="check charges and bond orders, or write aromatic rings in Kekulé form",
                entry=smiles,
            )
        fragments = Chem.GetMolFrags(mol, asMols=True)
        if len(fragments) > 1:
            largest = _largest_fragment(fragments)
            if not largest_fragment:
                listed = [Chem.MolToSmiles(f) for f in fragments]
                shown = ", ".join(listed[:10]) + (", ..." if len(listed) > 10 else "")
                best = Chem.MolToSmiles(largest)
                raise InvalidInputError(
                    f"SMILES {smiles!r} has {len(fragments)} fragments ({shown}): a salt or "
                    f"mixture; the largest is {best}",
                    got=smiles,
                    expected="a single connected molecule",
                    fix=f"use the largest fragment {best}, or enter the components separately",
                    entry=smiles,
                    suggestion=best,
                )
            mol = largest
    n_heavy = heavy_atom_count(mol)
    if n_heavy > max_heavy_atoms:
        raise InvalidInputError(
            f"molecule has {n_heavy} heavy atoms, more than the limit of {max_heavy_atoms}",
            got=smiles if len(smiles) <= 80 else f"{smiles[:77]}...",
            expected=f"at most {max_heavy_atoms} non-hydrogen atoms",
            fix="use a smaller molecule (for polymers, a repeat unit or short oligomer)",
            entry=smiles,
        )
    return mol


def embed_conformer(mol: Chem.Mol, *, seed: int = 0xF00D, optimize: bool = True) -> Chem.Mol:
    """One 3D conformer with explicit hydrogens (ETKDGv3, then MMFF94 or UFF).

    Deterministic: the same molecule and seed give identical coordinates. If ETKDG fails
    it is retried from random coordinates. Force-field optimisation uses MMFF94 when it
    has parameters for every atom, else UFF, else keeps the ETKDG geometry.

    Returns:
        A new molecule (the input is not modified) with hydrogens and exactly one conformer.

    Raises:
        InvalidInputError: no 3D coordinates could be generated.
    """
    with _quiet_rdkit():
        return _embed(mol, seed, optimize)


def embed_conformers(
    mols: list[Chem.Mol],
    *,
    seed: int = 0xF00D,
    optimize: bool = True,
    threads: int | None = None,
    hold_seconds: float = 0.2,
    max_extra_seconds: float = 2.0,
    budget: EmbedBudget | None = None,
) -> list[Chem.Mol | InvalidInputError]:
    """:func:`embed_conformer` for many molecules on ``threads`` threads (default: the
    usable CPUs); identical coordinates, in input order, a molecule that cannot be
    embedded gets its :class:`InvalidInputError` in its place instead of stopping the rest.
    See :func:`iter_embedded` for the scheduling."""
    out: list[Chem.Mol | InvalidInputError | None] = [None] * len(mols)
    for i, result in iter_embedded(
        mols,
        seed=seed,
        optimize=optimize,
        threads=threads,
        hold_seconds=hold_seconds,
        max_extra_seconds=max_extra_seconds,
        budget=budget,
    ):
        out[i] = result
    return out  # type: ignore[return-value]


def iter_embedded(
    mols: list[Chem.Mol],
    *,
    seed: int = 0xF00D,
    optimize: bool = True,
    threads: int | None = None,
    hold_seconds: float = 0.2,
    max_extra_seconds: float = 2.0,
    budget: EmbedBudget | None = None,
) -> Iterator[tuple[int, Chem.Mol | InvalidInputError]]:
    """``(index, molecule with its conformer or InvalidInputError)`` for every molecule,
    in the order they finish, so a caller can use the first ones while the rest embed.

    RDKit releases the GIL while embedding and optimising, so threads run in parallel,
    and each takes the next molecule as soon as it is free. The RDKit lock (and its
    silenced log) is taken for ``hold_seconds`` at a time; then no new molecule is started,
    the running ones finish, the lock is released so other sessions' parsing gets its turn,
    and the molecules finished in that hold are yielded (never while holding the lock). A
    molecule that is slow to embed (a strained cage for which ETKDG exhausts its attempts
    takes up to a second) would then leave the other threads idle, so while one started
    before the end of the hold is still running, free threads keep taking molecules (for
    at most ``max_extra_seconds``).
    """
    from core import config

    threads = max(1, threads or config.cpu_count())

    def one(i: int) -> tuple[int, Chem.Mol | InvalidInputError]:
        try:
            return i, _embed(mols[i], seed, optimize, budget)
        except InvalidInputError as err:
            return i, err

    following = 0  # next molecule to start
    with ThreadPoolExecutor(threads) as pool:
        while following < len(mols):
            finished_here: list[tuple[int, Chem.Mol | InvalidInputError]] = []
            with _quiet_rdkit():  # workers call _embed unlocked while this thread holds it
                until = time.monotonic() + hold_seconds
                first = following  # at least one molecule per hold, however short
                running: dict = {}  # future -> start time
                while True:
                    while len(running) < threads and following < len(mols):
                        now = time.monotonic()
                        waiting_anyway = any(t < until for t in running.values())
                        if not (
                            following == first
                            or now < until
                            or (waiting_anyway and now < until + max_extra_seconds)
                        ):
                            break
                        running[pool.submit(one, following)] = now
                        following += 1
                    if not running:
                        break
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        del running[future]
                        finished_here.append(future.result())
            yield from finished_here


MMFF_ITERS = 2000  # force-field iterations of the full recipe (the pages' conformers)


@dataclass(frozen=True)
class EmbedBudget:
    """A per-molecule cap on conformer generation for batch screening: at most
    ``attempts`` ETKDG attempts (then as many from random coordinates) and ``mmff_iters``
    force-field iterations. A molecule within it gets exactly the coordinates of the full
    recipe (same seed, same attempts, a converged optimisation); one it cuts is marked
    ``etkdg-budget`` (see :data:`CONFORMER_KINDS`).

    The default caps only the attempts (RDKit's own limit grows with the molecule, and a
    molecule ETKDG cannot embed spends all of them): fewer force-field iterations save
    little on drug-like molecules and leave a fifth of them unconverged at 200
    (``benchmarks/results/conformer_budget_table.txt``)."""

    attempts: int = 5
    mmff_iters: int = MMFF_ITERS


# How a molecule's coordinates were made (the ``_conformer`` property of an embedded
# molecule, the ``conformer`` column of a prediction): the full ETKDG + force-field recipe;
# cut by an EmbedBudget (ETKDG out of attempts, then random coordinates, or an optimisation
# stopped before converging); ETKDG failed and random starting coordinates were used; the
# coordinates came with the input file.
CONFORMER_KINDS = ("etkdg", "etkdg-budget", "random-coords", "given")


def _embed(mol: Chem.Mol, seed: int, optimize: bool, budget: EmbedBudget | None = None) -> Chem.Mol:
    """embed_conformer without the lock: the caller holds ``_quiet_rdkit()``. The result's
    ``_conformer`` property says how its coordinates were made (:data:`CONFORMER_KINDS`)."""
    molh = Chem.AddHs(Chem.Mol(mol))
    molh.RemoveAllConformers()
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    params.numThreads = 1  # one thread keeps the result reproducible
    if budget is not None:
        params.maxIterations = budget.attempts
    kind = "etkdg"
    conf_id = AllChem.EmbedMolecule(molh, params) if molh.GetNumAtoms() else -1
    if conf_id < 0 and molh.GetNumAtoms():
        params.useRandomCoords = True
        conf_id = AllChem.EmbedMolecule(molh, params)
        kind = "random-coords" if budget is None else "etkdg-budget"
    if conf_id < 0:
        smiles = Chem.MolToSmiles(mol) if mol.GetNumAtoms() else "(empty molecule)"
        raise InvalidInputError(
            f"could not generate 3D coordinates for {smiles}",
            got=smiles,
            expected="a molecule RDKit's ETKDG can embed",
            fix="check unusual stereochemistry, strained ring systems or metal centres, "
            "or upload a 3D structure file (.sdf/.mol/.xyz) instead",
            entry=smiles,
        )
    if optimize:
        iters = MMFF_ITERS if budget is None else budget.mmff_iters
        not_converged = 0
        if AllChem.MMFFHasAllMoleculeParams(molh):
            not_converged = AllChem.MMFFOptimizeMolecule(molh, mmffVariant="MMFF94", maxIters=iters)
        elif AllChem.UFFHasAllMoleculeParams(molh):
            not_converged = AllChem.UFFOptimizeMolecule(molh, maxIters=iters)
        if not_converged == 1 and budget is not None:
            kind = "etkdg-budget"
    molh.SetProp("_conformer", kind)
    return molh


def _decode(data: bytes | str, filename: str) -> str:
    if isinstance(data, str):
        text = data
    elif isinstance(data, (bytes, bytearray)):
        try:
            text = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError:
            text = bytes(data).decode("latin-1")  # older tools write Latin-1 names
    else:
        raise InvalidInputError(
            f"contents of {filename!r} must be bytes or text",
            got=type(data).__name__,
            expected="the uploaded file's bytes",
        )
    if "\x00" in text:
        raise InvalidInputError(
            f"{filename!r} is a binary file, not a text structure file",
            expected="a text .sdf, .mol or .xyz file",
            entry=filename,
        )
    if not text.strip():
        raise InvalidInputError(
            f"{filename!r} is empty", expected="at least one structure", entry=filename
        )
    return text


def _bad_record(filename: str, number: int, reason: str, expected: str) -> InvalidInputError:
    return InvalidInputError(
        f"record {number} of {filename!r} could not be read: {reason}",
        expected=expected,
        fix=f"fix or remove record {number}",
        entry=f"record {number}",
    )


def _read_record(
    read: Callable[[], Chem.Mol | None], filename: str, number: int, expected: str
) -> Chem.Mol:
    """Run one RDKit reader call; ``None`` or an RDKit exception becomes a record error."""
    with _quiet_rdkit() as capture:
        try:
            mol = read()
        except (RuntimeError, ValueError) as err:
            mol, error = None, str(err).strip().splitlines()[0] if str(err).strip() else ""
        else:
            error = ""
        if mol is None:
            reason = "; ".join(_log_lines(capture)[:4]) or error or "RDKit could not read it"
            raise _bad_record(filename, number, reason, expected)
    return mol


def _read_sdf(text: str, filename: str, keep_bad_records: bool = False) -> list:
    supplier = Chem.SDMolSupplier()
    with _quiet_rdkit():
        supplier.SetData(text, sanitize=True, removeHs=False)
        count = len(supplier)
    expected = "MDL mol blocks separated by $$$$ lines"
    out: list = []
    for i in range(count):
        try:
            out.append(_read_record(lambda i=i: supplier[i], filename, i + 1, expected))
        except InvalidInputError as err:
            if not keep_bad_records:
                raise
            out.append(err)
    return out


def read_smiles_csv(data: bytes | str, filename: str = "upload.csv") -> list[str]:
    """The SMILES column of an uploaded CSV, one string per row (blank cells give ``""``,
    which the predictor reports as that row's error); see :func:`read_smiles_table`."""
    return read_smiles_table(data, filename)[0]


def read_smiles_table(data: bytes | str, filename: str = "upload.csv"):
    """``(smiles, others)``: the SMILES column of an uploaded CSV, one string per row, and
    the table's other columns as text (a ``pandas.DataFrame``, same rows), which a batch
    result carries along (ids, names, measured values).

    The column is found by its header, ``smiles`` in any capitalisation. Text is read as
    UTF-8 (with or without BOM), else Latin-1.

    Raises:
        InvalidInputError: empty or binary file, not a CSV table, no SMILES column, or a
            header without rows.
    """
    import io

    import pandas as pd

    text = data if isinstance(data, str) else None
    if text is None:
        try:
            text = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError:
            text = bytes(data).decode("latin-1")
    if "\x00" in text:
        raise InvalidInputError(
            f"{filename!r} is a binary file, not a CSV table",
            expected="comma-separated text with a header row",
            fix="export the sheet as CSV (UTF-8)",
            entry=filename,
        )
    if not text.strip():
        raise InvalidInputError(
            f"{filename!r} is empty", expected="a header row with a 'smiles' column, then rows"
        )
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InvalidInputError(
            f"{filename!r} cannot be read as CSV: {str(err).strip().splitlines()[0]}",
            expected="comma-separated text with a header row",
            fix="export the sheet as CSV (UTF-8)",
            entry=filename,
        ) from None
    column = next((c for c in frame.columns if str(c).strip().lower() == "smiles"), None)
    if column is None:
        raise InvalidInputError(
            f"{filename!r} has no SMILES column",
            got=", ".join(map(str, frame.columns[:10])),
            expected="a column named 'smiles' (any capitalisation)",
            fix="name the column of SMILES strings 'smiles'",
        )
    if frame.empty:
        raise InvalidInputError(
            f"{filename!r} has a header but no rows", expected="one molecule per row"
        )
    return [str(v).strip() for v in frame[column].tolist()], frame.drop(columns=[column])


def _xyz_frames(text: str, filename: str) -> Iterator[tuple[int, str]]:
    """Split a (multi-frame) XYZ file into ``(record number, block)`` pairs."""
    lines = text.splitlines()
    start, number = 0, 1
    while start < len(lines) and lines[start].strip():
        head = lines[start].split()
        if len(head) != 1 or not head[0].isdigit() or int(head[0]) == 0:
            reason = f"line {start + 1} should hold the atom count, found {lines[start].strip()!r}"
            raise _bad_record(
                filename,
                number,
                reason,
                "an atom count, a comment line, then one 'El x y z' line per atom",
            )
        end = start + 2 + int(head[0])
        if end > len(lines):
            reason = (
                f"it announces {head[0]} atoms but the file ends after {len(lines) - start - 2}"
            )
            raise _bad_record(
                filename, number, reason, "as many coordinate lines as the atom count"
            )
        yield number, "\n".join(lines[start:end]) + "\n"
        start, number = end, number + 1
        while (
            start < len(lines)
            and not lines[start].strip()
            and any(x.strip() for x in lines[start:])
        ):
            start += 1  # blank lines between frames


def _read_xyz(text: str, filename: str) -> list[Chem.Mol]:
    mols = []
    for number, block in _xyz_frames(text, filename):
        expected = "lines of 'element x y z' in ångström"
        mol = _read_record(lambda b=block: Chem.MolFromXYZBlock(b), filename, number, expected)
        with _quiet_rdkit():
            try:
                rdDetermineBonds.DetermineBonds(mol, charge=0)
            except (ValueError, RuntimeError) as err:
                reason = f"bonds could not be assigned assuming a neutral molecule ({err})"
                expected = "a neutral, closed-shell molecule with all hydrogens"
                raise _bad_record(filename, number, reason, expected) from err
        mols.append(mol)
    return mols


def mol_from_file(
    data: bytes | str, filename: str, *, keep_bad_records: bool = False
) -> list[Chem.Mol] | list[Chem.Mol | InvalidInputError]:
    """Read every structure of an uploaded ``.sdf``, ``.mol`` or ``.xyz`` file.

    With ``keep_bad_records`` an SDF record RDKit cannot read is returned in its place as
    the :class:`InvalidInputError` that says why (batch mode: one error row, not a failed
    file); otherwise the first such record raises.

    Coordinates and explicit hydrogens are kept as given (ångström). XYZ files carry no
    bonds: they are perceived with RDKit's ``DetermineBonds`` assuming total charge 0.
    Multi-frame XYZ files give one molecule per frame.

    Raises:
        InvalidInputError: unknown extension, empty or binary file, or an unreadable record
            (the message names the 1-based record number; ``entry`` is ``"record N"``).
    """
    suffix = PurePath(filename or "").suffix.lower()
    if suffix not in SUPPORTED_FILE_TYPES:
        raise InvalidInputError(
            f"unsupported structure file type {suffix or '(no extension)'!r} for {filename!r}",
            got=filename,
            expected=f"one of {', '.join(SUPPORTED_FILE_TYPES)}",
            fix="convert the file (e.g. with Open Babel) to SDF",
            entry=filename,
        )
    from core.config import check_upload_size

    check_upload_size(data, "structure_file", filename)
    text = _decode(data, filename)
    if suffix == ".xyz":
        mols = _read_xyz(text, filename)
    elif suffix == ".mol":
        read = lambda: Chem.MolFromMolBlock(text, sanitize=True, removeHs=False)  # noqa: E731
        mols = [_read_record(read, filename, 1, "one MDL mol block (V2000 or V3000)")]
    else:
        mols = _read_sdf(text, filename, keep_bad_records)
    if not mols:
        raise InvalidInputError(
            f"no structures found in {filename!r}",
            expected=f"at least one {suffix[1:].upper()} record",
            entry=filename,
        )
    return mols
