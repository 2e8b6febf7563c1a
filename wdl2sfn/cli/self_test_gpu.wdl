version 1.1

# `wdl2sfn self-test --gpu`: nvidia-smi in a `gpu: true` task (the GPU queue, one GPU).

workflow self_test_gpu {
  call gpu_info
  output {
    String info = gpu_info.info
  }
}

task gpu_info {
  command <<<
    if command -v nvidia-smi >/dev/null 2>&1; then
      nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1
    else
      echo "no GPU visible (CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-unset})"
    fi
  >>>
  output {
    String info = read_string(stdout())
  }
  runtime {
    container: "nvidia/cuda:12.4.1-base-ubuntu22.04"
    gpu: true
    acceleratorCount: 1
    acceleratorType: "nvidia-tesla-t4"
    cpu: 2
    memory: "4 GiB"
  }
}
