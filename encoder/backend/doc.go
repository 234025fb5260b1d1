// Package backend chooses the GoMLX compute backend that lair trains and
// encodes on: the pure-Go CPU backend, or XLA through a PJRT CUDA plugin.
//
// The steps, in order:
//
//  1. Resolve (no library is loaded yet) maps a device to a backend
//     configuration. Device "cpu" is the pure-Go backend: $GOMLX_BACKEND
//     when set, else DefaultGo ("go:parallelism=16"; parallelism=2 can
//     deadlock on 2 cores). Device "cuda" needs a PJRT CUDA plugin and a
//     GPU.
//  2. The plugin is looked for, first found wins: the explicit path
//     (Options.Plugin: a --pjrt-plugin flag), $LAIR_PJRT_PLUGIN, the
//     directories of $PJRT_PLUGIN_LIBRARY_PATH (":"-separated), go-xla's
//     install directories (~/.local/lib/go-xla, /usr/local/lib/go-xla and
//     their nvidia/ subfolders) and $LD_LIBRARY_PATH, all for files named
//     pjrt_c_api_<name>_plugin.so (or pjrt[-_]plugin[-_]<name>.so); then the
//     plugin that JAX's jax-cuda*-pjrt package installs,
//     <site-packages>/jax_plugins/xla_cuda*/xla_cuda_plugin.so, in the
//     Python site-packages folders of $VIRTUAL_ENV, $CONDA_PREFIX,
//     $PYTHONPATH, ~/.local, /usr/local, /usr, /opt/conda and whatever
//     `python3 -c 'import site'` reports.
//  3. GPUs are seen through `nvidia-smi`, else /proc/driver/nvidia/gpus,
//     else /dev/nvidia<N>.
//  4. When something is missing, Resolve returns one *NotAvailableError
//     that lists every place looked at and how to supply what is missing,
//     before any data is read or any model loaded.
//  5. Open loads the chosen backend. The XLA backend is linked into lair
//     (github.com/gomlx/go-xla/compute/xla) but its plugin is only dlopen'ed
//     here, with an absolute path, and go-xla's auto-install (a download
//     from GitHub or PyPI) is switched off, so nothing is ever fetched and a
//     lair binary runs on machines with no plugin at all. For JAX's plugin,
//     when XLA_FLAGS sets no --xla_gpu_cuda_data_dir and the pip CUDA
//     toolkit (site-packages/nvidia/cu13 or nvidia/cuda_nvcc, with
//     nvvm/libdevice) is there, Open points XLA at it.
//
// The package holds no state: System describes the machine (Host() is the
// real one; tests build their own) and every call takes it.
package backend
