version 1.1

struct Sample {
  String name
  Int reads
}

workflow summarize {
  input {
    Sample sample
    Int factor = 2
  }
  call describe { input: sample = sample, factor = factor }
  output {
    String summary = describe.line
    Pair[String, Int] scaled = (sample.name, describe.scaled)
  }
}

task describe {
  input {
    Sample sample
    Int factor
  }
  command <<<
    echo "~{sample.name} has ~{sample.reads} reads"
  >>>
  output {
    String line = read_string(stdout())
    Int scaled = sample.reads * factor
  }
}
