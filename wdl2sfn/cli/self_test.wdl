version 1.1

# `wdl2sfn self-test`: names read from a file (in a task), one greeting per name (a scatter),
# the greetings gathered into one file (a gather).

workflow self_test {
  input {
    File names
  }
  call read_names { input: names = names }
  scatter (name in read_names.who) {
    call greet { input: who = name }
  }
  call gather { input: greetings = greet.message }
  output {
    Int count = length(read_names.who)
    Array[String] greetings = greet.message
    File report = gather.report
  }
}

task read_names {
  input {
    File names
  }
  command <<<
    grep -v '^[[:space:]]*$' "~{names}"
  >>>
  output {
    Array[String] who = read_lines(stdout())
  }
  runtime {
    container: "ubuntu:22.04"
    cpu: 1
    memory: "256 MiB"
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

task gather {
  input {
    Array[String] greetings
  }
  command <<<
    cat "~{write_lines(greetings)}" > report.txt
  >>>
  output {
    File report = "report.txt"
  }
  runtime {
    container: "ubuntu:22.04"
    cpu: 1
    memory: "256 MiB"
  }
}
