"""coursecnn: the companion package of a course on convolutional neural networks.

Subpackages, one concept each:
    ops       NumPy reference ops, naive loops and fast vectorised versions, forward and backward
    data      the shipped digits and Fashion-MNIST samples, full data sets, photos, loaders
    models    the model zoo, LeNet to ResNet, and ``summary``
    train     ``fit`` and ``evaluate`` on CPU, CUDA or MPS, checkpoints, profiles
    explain   what a trained CNN learned: feature maps, saliency, occlusion, Grad-CAM,
              activation maximisation, top patches, receptive fields
    widgets   ipywidgets explorers used in the notebooks
    checks    the graded checks that the notebooks' check cells call
    grading   ``release`` (student versions) and ``grade`` (scores) for instructors
"""

__version__ = "0.1.0"
