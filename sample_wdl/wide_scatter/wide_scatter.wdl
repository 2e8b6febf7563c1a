version 1.1

# A scatter of N trivial tasks: the workload of the scale benchmark and quota tests.
workflow wide_scatter {
  input {
    Int n = 100
  }
  scatter (i in range(n)) {
    call t { input: i = i }
  }
  output {
    Array[Int] outs = t.out
  }
}

task t {
  input {
    Int i
  }
  command <<<
    echo ~{i}
  >>>
  output {
    Int out = read_int(stdout())
  }
  runtime {
    cpu: 1
  }
}
