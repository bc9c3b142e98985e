/**
 * Reading the visitor's poster file in the browser: its pixels as RGBA bytes at natural size, as
 * the pipeline decodes them (colour profile applied, EXIF orientation ignored), within the
 * pipeline's pixel limit.
 */
import { MAX_POSTER_PIXELS } from '../../lib/poster-preprocess.ts';
import { message } from './errors.ts';

/**
 * The image at its natural size as RGBA bytes, without colour-managed premultiplication. Embedded
 * colour profiles are applied (converted to sRGB), as sharp does when the pipeline decodes; EXIF
 * orientation is ignored where the browser allows it, as the pipeline ignores it.
 */
export async function decodeImage(file: Blob): Promise<{ rgba: Uint8ClampedArray; width: number; height: number }> {
  let bitmap: ImageBitmap;
  const options: ImageBitmapOptions = { colorSpaceConversion: 'default', premultiplyAlpha: 'none', imageOrientation: 'none' };
  try {
    try {
      bitmap = await createImageBitmap(file, options);
    } catch (error) {
      // Browsers that do not know imageOrientation 'none' reject the option itself.
      if (!(error instanceof TypeError)) throw error;
      bitmap = await createImageBitmap(file, { ...options, imageOrientation: undefined });
    }
  } catch (error) {
    throw new Error(`Cannot read this file as an image: it is not an image format the browser can decode, or it is truncated or corrupt (${message(error)}).`);
  }
  const { width, height } = bitmap;
  if (width * height > MAX_POSTER_PIXELS) {
    bitmap.close();
    throw new Error(`This image has ${width}×${height} pixels, more than the pipeline accepts (${MAX_POSTER_PIXELS.toLocaleString('en')}).`);
  }
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' });
  if (!context) throw new Error('This browser cannot give the image’s pixels (no 2D canvas).');
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const { data } = context.getImageData(0, 0, width, height, { colorSpace: 'srgb' });
  return { rgba: data, width, height };
}

/** Whether any pixel is not fully opaque. */
export function hasTransparency(rgba: Uint8ClampedArray): boolean {
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] !== 255) return true;
  return false;
}
