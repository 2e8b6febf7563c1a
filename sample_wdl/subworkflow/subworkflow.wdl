version 1.1

import "lib.wdl" as lib

workflow subworkflow {
  input {
    Array[Sample] samples = [
      Sample { name: "a", reads: 10 },
      Sample { name: "b", reads: 20 }
    ]
  }
  scatter (s in samples) {
    call lib.summarize { input: sample = s }
  }
  Map[String, Int] by_name = as_map(summarize.scaled)
  output {
    Array[String] summaries = summarize.summary
    Map[String, Int] scaled = by_name
  }
}
