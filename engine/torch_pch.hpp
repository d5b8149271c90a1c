// Precompiled header for every LibTorch translation unit (engine and its tests).
#pragma once
#include <torch/torch.h>
