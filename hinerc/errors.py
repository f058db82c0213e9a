"""Exception tree of hinerc and the exit code each maps to.

Every error a user can cause (a bad input, a corrupt file, an unreachable rate, an output that
already exists) is a :class:`HinercError` with ``exit_code = 1``; a malformed option value or a
command used for the wrong job is a :class:`UsageError` (``exit_code = 2``, as click's own usage
errors). The CLI prints either as one line. Anything else escaping to the entry point is a bug
and exits with code 3.
"""

from __future__ import annotations


class HinercError(Exception):
    """Root of all errors hinerc raises on purpose."""

    exit_code = 1


class InputError(HinercError, ValueError):
    """An input cube (or option value) that cannot be read or used."""


class UsageError(InputError):
    """An option value that is malformed or out of range, or a command asked to do another
    command's job (for instance ``compress`` writing a ``.tif``): the CLI exits with 2."""

    exit_code = 2


class FormatError(HinercError, ValueError):
    """A ``.hnr`` file that cannot be parsed."""


class CorruptFileError(FormatError):
    """Truncated file, wrong magic, CRC mismatch or an impossible declared size."""


class UnsupportedVersionError(FormatError):
    """A ``.hnr`` container version this build does not know."""


class RateError(HinercError):
    """A requested rate that no model of the family can reach."""


class OutputExistsError(HinercError, FileExistsError):
    """The output exists and ``--force`` was not given, or it would overwrite the input."""


class TrainingError(HinercError, RuntimeError):
    """Training failed (for instance diverged) and nothing was written."""


class HinercWarning(UserWarning):
    """Base of warnings hinerc emits (for instance: no wavelengths, band index used)."""
