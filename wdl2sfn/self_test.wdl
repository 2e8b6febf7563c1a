version 1.1

workflow self_test {
  input {
    String who = "world"
  }
  call greet { input: who = who }
  output {
    String message = greet.message
  }
}

task greet {
  input {
    String who
  }
  command <<<
    echo "Hello, ~{who}!"
  >>>
  output {
    String message = read_string(stdout())
  }
  runtime {
    container: "ubuntu:22.04"
    cpu: 1
    memory: "256 MiB"
  }
}
