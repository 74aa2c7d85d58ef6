"""Constants the CUDA row kernels share with their launcher (``cuda_rows``), apart so that
the launcher can name them without importing the kernels (which import ``numba.cuda``)."""

BLOCK = 128  # threads per block and shared-array size (a power of two: the reductions halve it)
SOFTMAX, LOG_SOFTMAX, LOGSUMEXP, LOGMEANEXP = 0, 1, 2, 3
