"""``hinerc classify``: SpectralFormer with Adaptive Spectral Weighting (ASW) and Implicit Spectral
Interpolation (ISI) on cubes as decoded from their ``.hnr`` (HINER paper §4.3, method reference §8).

Modules, one job each: :mod:`~hinerc.classify.labels` (label rasters, the stratified split),
:mod:`~hinerc.classify.model` (SpectralFormer, ASW, patches), :mod:`~hinerc.classify.isi` (cubes
at jittered wavelengths), :mod:`~hinerc.classify.metrics` (confusion matrix, OA, AA, κ),
:mod:`~hinerc.classify.train` (training, prediction, the saved classifier).
"""
