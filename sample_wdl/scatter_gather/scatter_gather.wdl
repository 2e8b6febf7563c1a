version 1.1

workflow scatter_gather {
  input {
    Array[Int] numbers = [1, 2, 3, 4, 5]
    Int offset = 10
  }
  scatter (n in numbers) {
    Int shifted = n + offset
    call square { input: x = shifted }
  }
  call sum { input: values = square.result }
  output {
    Array[Int] squares = square.result
    Int total = sum.result
  }
}

task square {
  input {
    Int x
  }
  command <<<
    echo $(( ~{x} * ~{x} ))
  >>>
  output {
    Int result = read_int(stdout())
  }
  runtime {
    cpu: 1
    memory: "128 MiB"
  }
}

task sum {
  input {
    Array[Int] values
  }
  command <<<
    python3 -c "import sys; print(sum(int(x) for x in sys.argv[1:]))" ~{sep(" ", values)}
  >>>
  output {
    Int result = read_int(stdout())
  }
}
