"""What every engine with weights needs from its checkpoint files; each engine's ``weights.py`` adds only its own
facts (file names, URL, checksum, licence, manifest, random-weight rule).

* :mod:`~colormnet.engines.checkpoints.files`: where weights live (explicit path, environment variable, the
  per-user data folder), writing them atomically, a cheap fingerprint for caches.
* :mod:`~colormnet.engines.checkpoints.reading`: reading an untrusted file (torch's safe loader, the usual
  wrappings taken off, the random-weights seed marker, finite weights).
* :mod:`~colormnet.engines.checkpoints.manifest`: key manifests in ``colormnet/data`` and the check against them.
* :mod:`~colormnet.engines.checkpoints.download`: the resumable, checked download of a published file, and whether
  what is at its destination already may be downloaded over.

Every failure is a :class:`colormnet.errors.WeightsError` of one sentence, worded with the engine's
:class:`Source` (its name and how to get a good copy).
"""

from colormnet.engines.checkpoints.download import (
    DownloadCancelledError,
    Progress,
    Release,
    already_there,
    download_file,
)
from colormnet.engines.checkpoints.files import (
    fingerprint,
    refuse_missing_from_variable,
    resolve_path,
    save_state_dict,
    user_data_dir,
    write_atomic,
)
from colormnet.engines.checkpoints.manifest import (
    DTYPES,
    ManifestRow,
    check_against_manifest,
    parse_shape,
    read_data_table,
)
from colormnet.engines.checkpoints.reading import (
    Source,
    check_finite,
    names_entry,
    pop_seed,
    read_state_dict,
    refused_global,
    warn_random,
)

__all__ = [
    "DTYPES",
    "DownloadCancelledError",
    "ManifestRow",
    "Progress",
    "Release",
    "Source",
    "already_there",
    "check_against_manifest",
    "check_finite",
    "download_file",
    "fingerprint",
    "names_entry",
    "parse_shape",
    "pop_seed",
    "read_data_table",
    "read_state_dict",
    "refuse_missing_from_variable",
    "refused_global",
    "resolve_path",
    "save_state_dict",
    "user_data_dir",
    "warn_random",
    "write_atomic",
]
