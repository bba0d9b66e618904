// RepOps kernels (offchain/repops): filled in by the kernels' commit.
#include <torch/extension.h>

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {}
