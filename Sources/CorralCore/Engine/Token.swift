/// A token id in the model's vocabulary (llama.cpp's `llama_token`).
public typealias Token = Int32
