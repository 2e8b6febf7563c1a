version 1.1

workflow files {
  input {
    File text
    Int parts = 3
  }
  call split_lines { input: text = text, parts = parts }
  scatter (chunk in split_lines.chunks) {
    call count_chars { input: chunk = chunk }
  }
  output {
    Array[File] chunks = split_lines.chunks
    Array[Int] chars = count_chars.n
    File report = split_lines.report
  }
}

task split_lines {
  input {
    File text
    Int parts
  }
  command <<<
    set -euo pipefail
    split -n l/~{parts} -d "~{text}" chunk_
    ls chunk_* > report.txt
  >>>
  output {
    Array[File] chunks = glob("chunk_*")
    File report = "report.txt"
  }
}

task count_chars {
  input {
    File chunk
  }
  command <<<
    wc -c < "~{chunk}"
  >>>
  output {
    Int n = read_int(stdout())
  }
}
