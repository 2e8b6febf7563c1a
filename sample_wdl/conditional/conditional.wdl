version 1.1

workflow conditional {
  input {
    Boolean do_upper = true
    Boolean do_count = false
    String text = "hello conditional world"
  }
  if (do_upper) {
    call upper { input: text = text }
  }
  if (do_count) {
    call count_words { input: text = text }
  }
  scatter (i in [1, 2, 3]) {
    if (i % 2 == 1) {
      call upper as odd_upper { input: text = "shard ~{i}" }
    }
  }
  String chosen = select_first([upper.out, text])
  output {
    String? upper_text = upper.out
    Int? word_count = count_words.n
    String result = chosen
    Array[String] odd = select_all(odd_upper.out)
    Boolean counted = defined(count_words.n)
  }
}

task upper {
  input {
    String text
  }
  command <<<
    echo "~{text}" | tr a-z A-Z
  >>>
  output {
    String out = read_string(stdout())
  }
}

task count_words {
  input {
    String text
  }
  command <<<
    echo "~{text}" | wc -w
  >>>
  output {
    Int n = read_int(stdout())
  }
}
