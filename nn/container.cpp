// Sequential's forward and the containers' element lookup (the rest is in nn/container.h).
#include <descent/nn/container.h>

#include <algorithm>

namespace descent::nn {

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (const auto& layer_forward : forwards_) h = layer_forward(h);
  return h;
}

Module& Sequential::operator[](size_t index) const {
  check<IndexError>(index < size(), "Sequential: index {} out of range for {} layers", index, size());
  return *layers_[index];
}

Module& ModuleList::operator[](size_t index) const {
  check<IndexError>(index < size(), "ModuleList: index {} out of range for {} modules", index, size());
  return *elements_[index];
}

bool ModuleDict::contains(const std::string& key) const {
  return std::find(keys_.begin(), keys_.end(), key) != keys_.end();
}

Module& ModuleDict::operator[](const std::string& key) const {
  auto found = std::find(keys_.begin(), keys_.end(), key);
  if (found != keys_.end()) return *elements_[static_cast<size_t>(found - keys_.begin())];
  throw IndexError(fmt::format("ModuleDict: no key '{}' (keys: {})", key, fmt::join(keys_, ", ")));
}

}  // namespace descent::nn
